//! Loopback ports for the processes the test bed starts (runtime replicas, extra brokers,
//! services under test and benchmark).

use std::net::TcpListener;

/// A port on 127.0.0.1 that nothing listens on right now. The caller's process binds it moments
/// later; the short gap is the usual price of letting the kernel choose.
pub fn free_local_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_local_port().unwrap();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
