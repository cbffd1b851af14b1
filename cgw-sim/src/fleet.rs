//! Many customer gateways against one AWS mock in one simulation: the
//! scale test of the lab (issue 5's "1,000 CGWs against one mock").
//!
//! CGW `i` has the outer address 198.18.(16 + i / 250).(1 + i % 250)
//! (the benchmarking range, RFC 2544, from the lab's address plan), one
//! tunnel to the mock at 198.51.100.10 with inside /30 169.254.(i / 64).
//! (4 * (i % 64)), and its own pre-shared key. The mock is one
//! [`TunnelGateway`] with one responder tunnel per CGW, AWS's default tunnel
//! options ([`TunnelOptions::default`]), so each CGW is answered with its
//! own key. A router joins them. Each CGW pings the mock's inside address
//! of its tunnel every [`PING_EVERY`] once its tunnel is up.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::crypto::Secret;
use ike::sa::IkeConfig;
use lab::wire::Prefix;
use lab::{IfaceId, LinkConfig, NodeId, Router, Sim};

use crate::aws::{aws_esp_proposals, aws_ike_proposals, TunnelOptions};
use crate::node::{GatewayConfig, TunnelConfig, TunnelGateway, TunnelId, TunnelRole, OUTSIDE};

/// The mock's outer address.
pub const MOCK: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
/// How often each CGW pings through its tunnel.
pub const PING_EVERY: Duration = Duration::from_secs(10);
/// The most CGWs a fleet holds (router interfaces and the /30 plan).
pub const MAX_CGWS: usize = 16_000;

/// CGW `i`'s outer address.
pub fn cgw_address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 16 + (i / 250) as u8, 1 + (i % 250) as u8)
}

/// CGW `i`'s tunnel inside addresses: (AWS side, CGW side).
pub fn inside_addresses(i: usize) -> (Ipv4Addr, Ipv4Addr) {
    let base = u32::from(Ipv4Addr::new(169, 254, 0, 0)) + 4 * i as u32;
    (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2))
}

fn psk(i: usize) -> Secret {
    Secret::new(format!("fleet-psk-{i:05}-of-the-lab").into_bytes())
}

/// The simulation and where things are.
pub struct Fleet {
    /// The simulator.
    pub sim: Sim,
    /// The CGWs' nodes, by index.
    pub cgws: Vec<NodeId>,
    /// The mock's node.
    pub mock: NodeId,
    pings_sent: u64,
    next_ping: Instant,
}

impl Fleet {
    /// `n` CGWs (at most [`MAX_CGWS`]); CGW `i` uses the pre-shared key of
    /// CGW `wrong_psk[i]` instead of its own when listed (a misconfigured
    /// device among the fleet).
    pub fn new(n: usize, seed: u64, wrong_psk: &[(usize, usize)]) -> Fleet {
        let n = n.min(MAX_CGWS);
        let mut sim = Sim::new(Instant::now(), seed);
        let opts = TunnelOptions::default();
        let mut mock_tunnels = Vec::with_capacity(n);
        let mut cgw_cfgs = Vec::with_capacity(n);
        for i in 0..n {
            let (aws_in, cgw_in) = inside_addresses(i);
            let aws = opts.engine_config(psk(i));
            mock_tunnels.push(TunnelConfig {
                peer: cgw_address(i),
                inside_local: aws_in,
                inside_remote: cgw_in,
                ike: Arc::new(aws.ike),
                role: TunnelRole::Responder,
                ikev1: None,
                clear_df: false,
                mss_clamp: None,
                idle_timeout: None,
                extra_selectors: Vec::new(),
            });
            let key = wrong_psk.iter().find(|w| w.0 == i).map_or(i, |w| w.1);
            let ike = IkeConfig::new(psk(key), aws_ike_proposals(), aws_esp_proposals(&[]));
            let mut gseed = [0u8; 32];
            gseed[..8].copy_from_slice(&seed.to_le_bytes());
            gseed[8..16].copy_from_slice(&(i as u64).to_le_bytes());
            cgw_cfgs.push(GatewayConfig {
                outer: cgw_address(i),
                tunnels: vec![TunnelConfig {
                    peer: MOCK,
                    inside_local: cgw_in,
                    inside_remote: aws_in,
                    ike: Arc::new(ike),
                    role: TunnelRole::Initiator,
                    ikev1: None,
                    clear_df: false,
                    mss_clamp: None,
                    idle_timeout: None,
                    extra_selectors: Vec::new(),
                }],
                seed: gseed,
            });
        }
        let mut mseed = [0xa5u8; 32];
        mseed[..8].copy_from_slice(&seed.to_le_bytes());
        let mock = sim.add_node(TunnelGateway::new(GatewayConfig {
            outer: MOCK,
            tunnels: mock_tunnels,
            seed: mseed,
        }));
        let mut router = Router::new().with_route(Prefix::host(MOCK), IfaceId(0));
        for i in 0..n {
            router.add_route(Prefix::host(cgw_address(i)), IfaceId(1 + i as u16));
        }
        let router = sim.add_node(router);
        let wan = LinkConfig::with_latency(Duration::from_millis(10));
        sim.connect((mock, OUTSIDE), (router, IfaceId(0)), wan)
            .expect("fresh interfaces");
        let now = sim.now();
        let mut cgws = Vec::with_capacity(n);
        for (i, cfg) in cgw_cfgs.into_iter().enumerate() {
            let id = sim.add_node(TunnelGateway::new(cfg));
            sim.connect((id, OUTSIDE), (router, IfaceId(1 + i as u16)), wan)
                .expect("fresh interfaces");
            // Spread the starts over the first second, as real devices
            // would not all start at one instant.
            let at = now + Duration::from_micros((i as u64 * 1_000_000) / n.max(1) as u64);
            sim.run_until(at);
            sim.with_node(id, |g: &mut TunnelGateway| g.initiate(TunnelId(0), at));
            cgws.push(id);
        }
        Fleet {
            sim,
            cgws,
            mock,
            pings_sent: 0,
            next_ping: now + Duration::from_secs(2),
        }
    }

    /// Runs the simulation for `d`, pinging through every tunnel that is up
    /// every [`PING_EVERY`].
    pub fn run_for(&mut self, d: Duration) {
        let end = self.sim.now() + d;
        while self.next_ping <= end {
            self.sim.run_until(self.next_ping);
            let now = self.sim.now();
            for (i, id) in self.cgws.iter().enumerate() {
                let seq = (self.pings_sent % u64::from(u16::MAX)) as u16;
                let sent = self.sim.with_node(*id, |g: &mut TunnelGateway| {
                    g.is_up(TunnelId(0)) && g.ping(now, TunnelId(0), inside_addresses(i).0, seq)
                });
                if sent == Some(true) {
                    self.pings_sent += 1;
                }
            }
            self.next_ping += PING_EVERY;
        }
        self.sim.run_until(end);
    }

    /// CGWs whose tunnel is up.
    pub fn cgws_up(&self) -> usize {
        self.cgws
            .iter()
            .filter(|id| {
                self.sim
                    .node::<TunnelGateway>(**id)
                    .is_some_and(|g| g.is_up(TunnelId(0)))
            })
            .count()
    }

    /// Tunnels the mock has up.
    pub fn mock_tunnels_up(&self) -> usize {
        self.sim.node::<TunnelGateway>(self.mock).map_or(0, |g| {
            (0..self.cgws.len())
                .filter(|t| g.is_up(TunnelId(*t)))
                .count()
        })
    }

    /// Pings sent by the CGWs so far.
    pub fn pings_sent(&self) -> u64 {
        self.pings_sent
    }

    /// Echo replies the CGWs received so far.
    pub fn replies(&self) -> u64 {
        self.cgws
            .iter()
            .filter_map(|id| self.sim.node::<TunnelGateway>(*id))
            .map(|g| g.received_local().len() as u64)
            .sum()
    }

    /// The CGW `i`'s gateway.
    pub fn cgw(&self, i: usize) -> Option<&TunnelGateway> {
        self.sim.node(*self.cgws.get(i)?)
    }
}
