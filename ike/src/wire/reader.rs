//! A bounds-checked cursor over untrusted bytes and small emit helpers.

use super::ParseError;

/// Reads big-endian fields from a slice; every read that runs past the end is
/// a [`ParseError::Truncated`] naming `what`.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, buf: &'a [u8]) -> Self {
        Reader { buf, what }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.buf.len() < n {
            return Err(ParseError::Truncated {
                what: self.what,
                need: n,
                have: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    /// Peeks the big-endian u16 at `offset` without consuming anything.
    pub(crate) fn peek_u16(&self, offset: usize) -> Result<u16, ParseError> {
        match self.buf.get(offset..offset.saturating_add(2)) {
            Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
            _ => Err(ParseError::Truncated {
                what: self.what,
                need: offset.saturating_add(2),
                have: self.buf.len(),
            }),
        }
    }
}

/// Converts a length we built ourselves into a 16-bit wire field. Every
/// structure this codec parses fits; a structure built by hand that does not
/// is a programming error.
pub(crate) fn len16(n: usize, what: &'static str) -> u16 {
    match u16::try_from(n) {
        Ok(v) => v,
        Err(_) => panic!("{what}: {n} bytes do not fit a 16-bit length field"),
    }
}

/// Converts a count we built ourselves into an 8-bit wire field.
pub(crate) fn count8(n: usize, what: &'static str) -> u8 {
    match u8::try_from(n) {
        Ok(v) => v,
        Err(_) => panic!("{what}: {n} items do not fit an 8-bit count field"),
    }
}

/// Writes a 16-bit length at `at` (a placeholder pushed earlier).
pub(crate) fn patch_len16(out: &mut [u8], at: usize, len: usize, what: &'static str) {
    let v = len16(len, what).to_be_bytes();
    out[at] = v[0];
    out[at + 1] = v[1];
}
