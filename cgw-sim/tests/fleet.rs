//! Many CGWs against one AWS-side gateway: each is answered with its own
//! tunnel's pre-shared key (per-peer responder configurations), a device
//! with another tunnel's key fails authentication alone, and traffic
//! crosses every tunnel that is up.

use std::time::Duration;

use cgw_sim::fleet::Fleet;
use cgw_sim::node::{DownCause, TunnelId};
use ike::sa::Failure;

#[test]
fn every_cgw_gets_its_own_tunnel_and_a_wrong_key_fails_alone() {
    let mut f = Fleet::new(25, 5, &[(3, 4)]);
    f.run_for(Duration::from_secs(30));
    assert_eq!(f.cgws_up(), 24);
    assert_eq!(f.mock_tunnels_up(), 24);
    let bad = f.cgw(3).unwrap();
    assert!(!bad.is_up(TunnelId(0)));
    match bad.last_failure(TunnelId(0)) {
        Some(DownCause::IkeFailed(Failure::PeerAuthenticationFailed { .. })) => {}
        other => panic!("CGW 3 (wrong key): {other:?}"),
    }
    // Pings at 2, 12 and 22 s through the 24 tunnels, all answered.
    assert_eq!(f.pings_sent(), 72);
    assert_eq!(f.replies(), 72);
}

#[test]
fn one_seed_one_fleet() {
    let run = || {
        let mut f = Fleet::new(10, 9, &[]);
        f.run_for(Duration::from_secs(15));
        (f.sim.events_run(), f.replies(), f.cgws_up())
    };
    assert_eq!(run(), run());
}
