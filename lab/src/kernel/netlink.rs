//! Interface, address and route configuration over rtnetlink, inside a
//! [`Netns`]: each call opens a netlink socket in the namespace and drives
//! it with a tokio current-thread runtime, bounded by [`NETLINK_TIMEOUT`].

use super::{check_ifname, KernelError, Netns, Result};
use futures_util::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteScope};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::{Handle, LinkUnspec, LinkVeth, RouteMessageBuilder};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// How long one netlink operation may take before it is abandoned.
const NETLINK_TIMEOUT: Duration = Duration::from_secs(10);

/// The main routing table's id.
const RT_TABLE_MAIN: u32 = 254;

/// Where a route sends its traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteVia {
    /// Straight out of an interface (`dev NAME`, link scope).
    Device(String),
    /// Through a next hop on a connected subnet (`via A.B.C.D`).
    Gateway(Ipv4Addr),
}

/// A route in the main table (IPv4 or IPv6), checked against the lab
/// plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination network.
    pub dest: IpAddr,
    /// Destination prefix length (never 0: no default routes).
    pub prefix_len: u8,
    /// Device or gateway.
    pub via: RouteVia,
}

/// One address (IPv4 or IPv6) as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrEntry {
    /// Interface name.
    pub dev: String,
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
}

/// One route of the main table (IPv4 or IPv6) as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    /// Destination network (0.0.0.0 or :: for a default route).
    pub dest: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// Next hop, if any.
    pub gateway: Option<IpAddr>,
    /// Output interface name, if any.
    pub dev: Option<String>,
}

/// One interface as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// MTU.
    pub mtu: u32,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Operationally up (IF_OPER_UP): carrier, and the kernel's link
    /// watch has activated the queue. Until then (up to a second after a
    /// veth comes up) packets sent through it are dropped.
    pub oper_up: bool,
}

fn nl_err(op: &str, ns: &Netns) -> impl FnOnce(rtnetlink::Error) -> KernelError {
    let (op, ns) = (op.to_string(), ns.name().to_string());
    move |source| KernelError::Netlink { op, ns, source }
}

async fn link_index(handle: &Handle, ns: &Netns, dev: &str) -> Result<u32> {
    let mut links = handle.link().get().match_name(dev.to_string()).execute();
    match links.try_next().await {
        Ok(Some(msg)) => Ok(msg.header.index),
        // ENODEV comes back as an error message, not an empty dump.
        Ok(None) | Err(rtnetlink::Error::NetlinkError(_)) => Err(KernelError::NoSuchLink {
            dev: dev.to_string(),
            ns: ns.name().to_string(),
        }),
        Err(e) => Err(nl_err(&format!("looking up {dev}"), ns)(e)),
    }
}

fn link_entry(msg: &LinkMessage) -> LinkEntry {
    let mut entry = LinkEntry {
        index: msg.header.index,
        name: String::new(),
        mtu: 0,
        up: msg.header.flags.contains(LinkFlags::Up),
        oper_up: false,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => entry.name = n.clone(),
            LinkAttribute::Mtu(m) => entry.mtu = *m,
            LinkAttribute::OperState(st) => entry.oper_up = *st == State::Up,
            _ => {}
        }
    }
    entry
}

impl Netns {
    /// Run a netlink conversation inside the namespace.
    fn netlink<F, Fut, R>(&self, op: &str, f: F) -> Result<R>
    where
        F: FnOnce(Handle) -> Fut + Send,
        Fut: Future<Output = Result<R>>,
        R: Send,
    {
        self.run(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(|e| KernelError::io("starting a tokio runtime", e))?;
            rt.block_on(async {
                let (conn, handle, _) = rtnetlink::new_connection()
                    .map_err(|e| KernelError::io("opening a netlink socket", e))?;
                tokio::spawn(conn);
                tokio::time::timeout(NETLINK_TIMEOUT, f(handle))
                    .await
                    .unwrap_or_else(|_| {
                        Err(KernelError::Timeout {
                            op: op.to_string(),
                            ns: self.name().to_string(),
                            secs: NETLINK_TIMEOUT.as_secs(),
                        })
                    })
            })
        })?
    }

    /// Bring an interface up.
    pub fn link_up(&self, dev: &str) -> Result<()> {
        self.set_link_state(dev, true)
    }

    /// Take an interface down (a veth's peer then loses its carrier). The
    /// kernel drops the routes through it; whoever brings it up again
    /// re-adds them.
    pub fn link_down(&self, dev: &str) -> Result<()> {
        self.set_link_state(dev, false)
    }

    fn set_link_state(&self, dev: &str, up: bool) -> Result<()> {
        check_ifname(dev)?;
        let word = if up { "up" } else { "down" };
        self.netlink(&format!("link {word}"), |h| async move {
            let index = link_index(&h, self, dev).await?;
            let msg = LinkUnspec::new_with_index(index);
            let msg = if up { msg.up() } else { msg.down() };
            h.link()
                .set(msg.build())
                .execute()
                .await
                .map_err(nl_err(&format!("setting {dev} {word}"), self))
        })
    }

    /// Set an interface's MTU.
    pub fn set_mtu(&self, dev: &str, mtu: u32) -> Result<()> {
        check_ifname(dev)?;
        self.netlink("set mtu", |h| async move {
            let index = link_index(&h, self, dev).await?;
            h.link()
                .set(LinkUnspec::new_with_index(index).mtu(mtu).build())
                .execute()
                .await
                .map_err(nl_err(&format!("setting mtu {mtu} on {dev}"), self))
        })
    }

    /// Create a veth pair `name` (here) and `peer`, and move `peer` into
    /// `peer_ns`. Both ends start down.
    pub fn add_veth(&self, name: &str, peer: &str, peer_ns: &Netns) -> Result<()> {
        check_ifname(name)?;
        check_ifname(peer)?;
        let target = peer_ns.open()?;
        self.netlink("add veth", |h| async move {
            h.link()
                .add(LinkVeth::new(name, peer).build())
                .execute()
                .await
                .map_err(nl_err(&format!("creating veth {name}/{peer}"), self))?;
            let index = link_index(&h, self, peer).await?;
            h.link()
                .set(
                    LinkUnspec::new_with_index(index)
                        .setns_by_fd(target.as_raw_fd())
                        .build(),
                )
                .execute()
                .await
                .map_err(nl_err(
                    &format!("moving {peer} to namespace {}", peer_ns.name()),
                    self,
                ))
        })
    }

    /// Add an address (IPv4, or IPv6 on an interface where
    /// [`Netns::enable_ipv6`] ran) with its prefix length to an interface;
    /// both the address and its subnet must be inside the lab plan.
    pub fn add_address(&self, dev: &str, addr: impl Into<IpAddr>, prefix_len: u8) -> Result<()> {
        let addr = addr.into();
        self.check_addr(addr)?;
        self.check_prefix(addr, prefix_len)?;
        check_ifname(dev)?;
        self.netlink("add address", |h| async move {
            let index = link_index(&h, self, dev).await?;
            h.address()
                .add(index, addr, prefix_len)
                .execute()
                .await
                .map_err(nl_err(
                    &format!("adding {addr}/{prefix_len} to {dev}"),
                    self,
                ))
        })
    }

    fn route_message(
        &self,
        route: &Route,
        index: Option<u32>,
    ) -> rtnetlink::packet_route::route::RouteMessage {
        match route.dest {
            IpAddr::V4(dest) => {
                let b = RouteMessageBuilder::<Ipv4Addr>::new()
                    .destination_prefix(dest, route.prefix_len);
                match (&route.via, index) {
                    (RouteVia::Device(_), Some(index)) => {
                        b.output_interface(index).scope(RouteScope::Link)
                    }
                    (RouteVia::Gateway(gw), _) => b.gateway(*gw),
                    (RouteVia::Device(_), None) => b,
                }
                .build()
            }
            // IPv6 routes go out of a device (a tunnel's TUN); an IPv4
            // gateway is refused by `check_route` first.
            IpAddr::V6(dest) => {
                let b = RouteMessageBuilder::<Ipv6Addr>::new()
                    .destination_prefix(dest, route.prefix_len);
                match index {
                    Some(index) => b.output_interface(index),
                    None => b,
                }
                .build()
            }
        }
    }

    fn check_route(&self, route: &Route) -> Result<()> {
        self.check_prefix(route.dest, route.prefix_len)?;
        match (&route.via, route.dest) {
            (RouteVia::Device(dev), _) => check_ifname(dev),
            (RouteVia::Gateway(gw), IpAddr::V4(_)) => self.check_addr(*gw),
            (RouteVia::Gateway(gw), IpAddr::V6(dest)) => Err(KernelError::MixedFamilies {
                route: format!("{dest}/{} via {gw}", route.prefix_len),
            }),
        }
    }

    /// Turns IPv6 on for `dev` (a namespace from [`Netns::new`] starts with
    /// it off) without duplicate address detection, so an address added
    /// next is usable at once (a tentative address cannot be bound for
    /// about a second), and without a link-local address, so the kernel
    /// sends no router or multicast listener solicitations of its own
    /// into a tunnel.
    pub fn enable_ipv6(&self, dev: &str) -> Result<()> {
        check_ifname(dev)?;
        let keys = ["accept_dad", "addr_gen_mode", "accept_ra", "disable_ipv6"]
            .map(|k| format!("net/ipv6/conf/{dev}/{k}"));
        let values = ["0", "1", "0", "0"];
        let pairs: Vec<(&str, &str)> = keys.iter().map(String::as_str).zip(values).collect();
        self.write_sysctls(&pairs, false)
    }

    /// Install a route in the main table (refused outside the lab plan and
    /// for default routes).
    pub fn add_route(&self, route: &Route) -> Result<()> {
        self.check_route(route)?;
        self.netlink("add route", |h| async move {
            let index = match &route.via {
                RouteVia::Device(dev) => Some(link_index(&h, self, dev).await?),
                RouteVia::Gateway(_) => None,
            };
            h.route()
                .add(self.route_message(route, index))
                .execute()
                .await
                .map_err(nl_err(&format!("adding route {route:?}"), self))
        })
    }

    /// Remove a route installed by [`Netns::add_route`].
    pub fn del_route(&self, route: &Route) -> Result<()> {
        self.check_route(route)?;
        self.netlink("delete route", |h| async move {
            let index = match &route.via {
                RouteVia::Device(dev) => Some(link_index(&h, self, dev).await?),
                RouteVia::Gateway(_) => None,
            };
            let mut msg = self.route_message(route, index);
            // RT_SCOPE_NOWHERE matches any scope on delete, as `ip route del` does.
            msg.header.scope = RouteScope::NoWhere;
            h.route()
                .del(msg)
                .execute()
                .await
                .map_err(nl_err(&format!("deleting route {route:?}"), self))
        })
    }

    /// Every interface in the namespace.
    pub fn links(&self) -> Result<Vec<LinkEntry>> {
        self.netlink("dump links", |h| async move {
            let msgs: Vec<LinkMessage> = h
                .link()
                .get()
                .execute()
                .try_collect()
                .await
                .map_err(nl_err("dumping links", self))?;
            Ok(msgs.iter().map(link_entry).collect())
        })
    }

    /// Every address in the namespace, IPv4 and IPv6.
    pub fn addresses(&self) -> Result<Vec<AddrEntry>> {
        let links = self.links()?;
        let name_of = |index: u32| {
            links
                .iter()
                .find(|l| l.index == index)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| format!("if{index}"))
        };
        let msgs = self.netlink("dump addresses", |h| async move {
            h.address()
                .get()
                .execute()
                .try_collect::<Vec<_>>()
                .await
                .map_err(nl_err("dumping addresses", self))
        })?;
        let mut out = Vec::new();
        for msg in msgs {
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the
            // peer's on point-to-point links, so prefer the former.
            let mut local = None;
            let mut address = None;
            for attr in &msg.attributes {
                match attr {
                    AddressAttribute::Local(a) => local = Some(*a),
                    AddressAttribute::Address(a) => address = Some(*a),
                    _ => {}
                }
            }
            if let Some(addr) = local.or(address) {
                out.push(AddrEntry {
                    dev: name_of(msg.header.index),
                    addr,
                    prefix_len: msg.header.prefix_len,
                });
            }
        }
        Ok(out)
    }

    /// Every route of the main table, IPv4 and IPv6.
    pub fn routes(&self) -> Result<Vec<RouteEntry>> {
        let links = self.links()?;
        let msgs = self.netlink("dump routes", |h| async move {
            let mut v4: Vec<_> = h
                .route()
                .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
                .execute()
                .try_collect::<Vec<_>>()
                .await
                .map_err(nl_err("dumping routes", self))?;
            let v6: Vec<_> = h
                .route()
                .get(RouteMessageBuilder::<Ipv6Addr>::new().build())
                .execute()
                .try_collect::<Vec<_>>()
                .await
                .map_err(nl_err("dumping IPv6 routes", self))?;
            v4.extend(v6);
            Ok(v4)
        })?;
        let mut out = Vec::new();
        for msg in msgs {
            let mut table = u32::from(msg.header.table);
            let mut entry = RouteEntry {
                dest: match msg.header.address_family {
                    AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                    _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                },
                prefix_len: msg.header.destination_prefix_length,
                gateway: None,
                dev: None,
            };
            for attr in &msg.attributes {
                match attr {
                    RouteAttribute::Destination(RouteAddress::Inet(a)) => entry.dest = (*a).into(),
                    RouteAttribute::Destination(RouteAddress::Inet6(a)) => entry.dest = (*a).into(),
                    RouteAttribute::Gateway(RouteAddress::Inet(a)) => {
                        entry.gateway = Some((*a).into())
                    }
                    RouteAttribute::Gateway(RouteAddress::Inet6(a)) => {
                        entry.gateway = Some((*a).into())
                    }
                    RouteAttribute::Oif(i) => {
                        entry.dev = links.iter().find(|l| l.index == *i).map(|l| l.name.clone())
                    }
                    RouteAttribute::Table(t) => table = *t,
                    _ => {}
                }
            }
            if table == RT_TABLE_MAIN {
                out.push(entry);
            }
        }
        Ok(out)
    }
}
