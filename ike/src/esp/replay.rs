//! The anti-replay window (RFC 4303 3.4.3), as the ring of 64-bit blocks of
//! RFC 6479: advancing the window clears whole blocks instead of shifting
//! the bitmap.

use super::EspError;

/// Smallest window AWS accepts.
pub const MIN_REPLAY_WINDOW: u32 = 64;
/// Largest window AWS accepts.
pub const MAX_REPLAY_WINDOW: u32 = 2048;
/// AWS's default window.
pub const DEFAULT_REPLAY_WINDOW: u32 = 1024;

/// Remembers which of the last `size` sequence numbers (counting back from
/// the highest authenticated one) were received.
///
/// Use in two steps: [`ReplayWindow::check`] before the (costly) integrity
/// check, [`ReplayWindow::accept`] after it succeeded.
#[derive(Clone)]
pub struct ReplayWindow {
    /// Window size W: accepted are `top - W < seq`.
    size: u32,
    /// Highest authenticated sequence number; 0 before the first.
    top: u32,
    /// Ring of blocks; block `i` holds sequence numbers `64 i .. 64 i + 63`
    /// at index `i & mask`. Its length is a power of two of at least
    /// `ceil(W / 64) + 1` blocks, so the block of every sequence number in
    /// the window is live.
    blocks: Box<[u64]>,
    mask: u32,
}

impl core::fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("size", &self.size)
            .field("top", &self.top)
            .finish_non_exhaustive()
    }
}

impl ReplayWindow {
    /// A window of `size` packets, 64..=2048.
    pub fn new(size: u32) -> Result<ReplayWindow, EspError> {
        if !(MIN_REPLAY_WINDOW..=MAX_REPLAY_WINDOW).contains(&size) {
            return Err(EspError::InvalidReplayWindow(size));
        }
        let nblocks = (size.div_ceil(64) + 1).next_power_of_two();
        Ok(ReplayWindow {
            size,
            top: 0,
            blocks: vec![0u64; nblocks as usize].into_boxed_slice(),
            mask: nblocks - 1,
        })
    }

    /// The window size.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The highest sequence number accepted so far (0 before the first).
    pub fn highest(&self) -> u32 {
        self.top
    }

    /// Whether `seq` may be new: not 0, not left of the window, not seen.
    pub fn check(&self, seq: u32) -> Result<(), EspError> {
        if seq == 0 {
            return Err(EspError::OutsideWindow { seq });
        }
        if seq > self.top {
            return Ok(());
        }
        if self.top - seq >= self.size {
            return Err(EspError::OutsideWindow { seq });
        }
        if self.blocks[self.block_index(seq)] & (1u64 << (seq & 63)) != 0 {
            return Err(EspError::Replay { seq });
        }
        Ok(())
    }

    /// Records `seq` as received (after [`ReplayWindow::check`] passed and
    /// the packet authenticated), advancing the window if `seq` is the new
    /// highest.
    pub fn accept(&mut self, seq: u32) {
        if seq > self.top {
            let cur = self.top >> 6;
            let new = seq >> 6;
            let nblocks = self.mask + 1;
            let advance = (new - cur).min(nblocks);
            for i in 1..=advance {
                let idx = (cur.wrapping_add(i) & self.mask) as usize;
                self.blocks[idx] = 0;
            }
            self.top = seq;
        }
        let idx = self.block_index(seq);
        self.blocks[idx] |= 1u64 << (seq & 63);
    }

    fn block_index(&self, seq: u32) -> usize {
        ((seq >> 6) & self.mask) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(w: &mut ReplayWindow, seq: u32) -> Result<(), EspError> {
        w.check(seq)?;
        w.accept(seq);
        Ok(())
    }

    #[test]
    fn sizes() {
        for bad in [0, 1, 63, 2049, u32::MAX] {
            assert_eq!(
                ReplayWindow::new(bad).unwrap_err(),
                EspError::InvalidReplayWindow(bad)
            );
        }
        for ok in [64, 65, 100, 1024, 2047, 2048] {
            assert_eq!(ReplayWindow::new(ok).unwrap().size(), ok);
        }
    }

    #[test]
    fn zero_is_never_valid() {
        let mut w = ReplayWindow::new(64).unwrap();
        assert_eq!(take(&mut w, 0), Err(EspError::OutsideWindow { seq: 0 }));
        take(&mut w, 1).unwrap();
        assert_eq!(take(&mut w, 0), Err(EspError::OutsideWindow { seq: 0 }));
    }

    #[test]
    fn edges_for_many_sizes() {
        for size in [64, 65, 127, 128, 1000, 1024, 2048] {
            for top in [size, size + 1, 5 * size + 63, 100_000, u32::MAX] {
                let mut w = ReplayWindow::new(size).unwrap();
                take(&mut w, top).unwrap();
                assert_eq!(take(&mut w, top), Err(EspError::Replay { seq: top }));
                let left = top - size + 1;
                // Exact left edge is inside; one further left is outside.
                take(&mut w, left).unwrap();
                assert_eq!(take(&mut w, left), Err(EspError::Replay { seq: left }));
                assert_eq!(
                    take(&mut w, left - 1),
                    Err(EspError::OutsideWindow { seq: left - 1 })
                );
                // Everything between is fresh exactly once.
                for s in left + 1..top {
                    take(&mut w, s).unwrap();
                }
                for s in left..=top {
                    assert_eq!(take(&mut w, s), Err(EspError::Replay { seq: s }));
                }
            }
        }
    }

    #[test]
    fn far_ahead_clears_everything() {
        let mut w = ReplayWindow::new(2048).unwrap();
        for s in 1..=3000 {
            take(&mut w, s).unwrap();
        }
        let far = 3000 + 10 * 2048;
        take(&mut w, far).unwrap();
        for s in far - 2047..far {
            w.check(s).unwrap();
        }
        assert_eq!(
            w.check(far - 2048),
            Err(EspError::OutsideWindow { seq: far - 2048 })
        );
        assert_eq!(w.check(3000), Err(EspError::OutsideWindow { seq: 3000 }));
    }

    #[test]
    fn matches_a_naive_model() {
        // A model that remembers every sequence number.
        let mut rng: u64 = 0x1234_5678_9abc_def0;
        for size in [64, 100, 1024, 2048] {
            let mut w = ReplayWindow::new(size).unwrap();
            let mut seen = std::collections::HashSet::new();
            let mut top = 0u32;
            for _ in 0..20_000 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let delta = (rng % (3 * size as u64)) as i64 - 2 * size as i64;
                let seq = (top as i64 + delta).max(0) as u32;
                let expect = if seq == 0 || (seq <= top && top - seq >= size) {
                    Err(EspError::OutsideWindow { seq })
                } else if seen.contains(&seq) {
                    Err(EspError::Replay { seq })
                } else {
                    Ok(())
                };
                assert_eq!(take(&mut w, seq), expect, "size {size} top {top} seq {seq}");
                if expect.is_ok() {
                    seen.insert(seq);
                    top = top.max(seq);
                }
            }
        }
    }
}
