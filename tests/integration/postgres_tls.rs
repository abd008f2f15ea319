//! Every `sslmode` against a server whose certificate the test chooses.
//!
//! The test server's own certificate is whatever its package made (often a self-signed
//! "snakeoil" one), so these tests put a small TLS front of their own between `defer` and the
//! server: it answers PostgreSQL's `SSLRequest`, ends TLS with a certificate from a certificate
//! authority the test makes (`rcgen`), and relays the plain protocol to the real server. The
//! authority is made trusted for one `defer` process through `SSL_CERT_FILE`, which the
//! system trust store reader honours as OpenSSL does. The front can also refuse TLS (as a
//! server without it answers `N`) or refuse plain text (as `pg_hba.conf`'s `hostssl` does,
//! SQLSTATE 28000), so each row of docs/postgres.md's `sslmode` table is checked here.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::util::{Env, test_database_url};

/// `SSLRequest`'s code, in the place of a startup message's protocol version.
const SSL_REQUEST: [u8; 4] = 80877103u32.to_be_bytes();

/// A certificate authority of the test's own, and the PEM file that makes `defer` trust it.
struct Authority {
    issuer: Issuer<'static, KeyPair>,
    pem_file: tempfile::NamedTempFile,
}

impl Authority {
    fn new() -> Authority {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "defer test CA");
        let cert = params.self_signed(&key).expect("CA certificate");
        let mut pem_file = tempfile::NamedTempFile::new().expect("CA file");
        pem_file.write_all(cert.pem().as_bytes()).expect("write CA");
        Authority {
            issuer: Issuer::new(params, key),
            pem_file,
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses) signed by this authority.
    fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().expect("server key");
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("server params");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        server_config(cert.der().clone(), &key)
    }
}

/// A self-signed certificate for `names`, which no trust store holds.
fn self_signed_config(names: &[&str]) -> Arc<rustls::ServerConfig> {
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .expect("params");
    let cert = params.self_signed(&key).expect("self-signed");
    server_config(cert.der().clone(), &key)
}

fn server_config(cert: CertificateDer<'static>, key: &KeyPair) -> Arc<rustls::ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server config"),
    )
}

/// What the front offers a client.
#[derive(Clone)]
struct Offer {
    /// TLS with this configuration; `None` answers `SSLRequest` with `N` (no TLS here).
    tls: Option<Arc<rustls::ServerConfig>>,
    /// Whether a plain-text startup is relayed; if not, it is refused with SQLSTATE 28000,
    /// as a server that admits only encrypted connections does.
    plain: bool,
}

/// How the front's sessions went.
#[derive(Default)]
struct Counts {
    tls: AtomicUsize,
    plain: AtomicUsize,
    refused: AtomicUsize,
}

/// The TLS front: listens on a loopback port, relays to the test server.
struct Front {
    addr: SocketAddr,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
}

impl Front {
    fn start(upstream: SocketAddr, offer: Offer) -> Front {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (Arc::clone(&counts), Arc::clone(&stop));
        thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (offer, counts) = (offer.clone(), Arc::clone(&c));
                thread::spawn(move || {
                    let _ = serve(client, upstream, &offer, &counts);
                });
            }
        });
        Front { addr, counts, stop }
    }

    fn tls(&self) -> usize {
        self.counts.tls.load(Ordering::Relaxed)
    }

    fn plain(&self) -> usize {
        self.counts.plain.load(Ordering::Relaxed)
    }

    fn refused(&self) -> usize {
        self.counts.refused.load(Ordering::Relaxed)
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// One client: TLS or plain as offered, then the relay.
fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    offer: &Offer,
    counts: &Counts,
) -> io::Result<()> {
    let mut first = [0u8; 8];
    client.read_exact(&mut first)?;
    if first[4..] == SSL_REQUEST {
        let Some(config) = &offer.tls else {
            client.write_all(b"N")?;
            // The client goes on in plain text on the same connection.
            client.read_exact(&mut first)?;
            return serve_plain(client, first, upstream, offer, counts);
        };
        client.write_all(b"S")?;
        let mut tls =
            rustls::ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
        while tls.is_handshaking() {
            tls.complete_io(&mut client)?;
        }
        counts.tls.fetch_add(1, Ordering::Relaxed);
        return relay_tls(client, tls, TcpStream::connect(upstream)?);
    }
    serve_plain(client, first, upstream, offer, counts)
}

/// A plain-text startup whose first 8 bytes were read: relayed, or refused like `hostssl`.
fn serve_plain(
    mut client: TcpStream,
    first: [u8; 8],
    upstream: SocketAddr,
    offer: &Offer,
    counts: &Counts,
) -> io::Result<()> {
    if !offer.plain {
        // Read the whole startup message, so closing sends FIN and not RST over unread bytes.
        let len = u32::from_be_bytes([first[0], first[1], first[2], first[3]]) as usize;
        let mut rest = vec![0u8; len.saturating_sub(8)];
        client.read_exact(&mut rest)?;
        let mut body = Vec::new();
        for (field, text) in [
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', "28000"),
            (
                b'M',
                "no pg_hba.conf entry for host \"127.0.0.1\", no encryption",
            ),
        ] {
            body.push(field);
            body.extend_from_slice(text.as_bytes());
            body.push(0);
        }
        body.push(0);
        let mut message = vec![b'E'];
        message.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        message.extend_from_slice(&body);
        client.write_all(&message)?;
        counts.refused.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    counts.plain.fetch_add(1, Ordering::Relaxed);
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(&first)?;
    let (mut client_r, mut server_w) = (client.try_clone()?, server.try_clone()?);
    let up = thread::spawn(move || {
        let _ = io::copy(&mut client_r, &mut server_w);
        let _ = server_w.shutdown(std::net::Shutdown::Write);
    });
    let _ = io::copy(&mut server, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
    Ok(())
}

/// Relays between a TLS client and the plain server from one thread, with `poll`.
fn relay_tls(
    mut client: TcpStream,
    mut tls: rustls::ServerConnection,
    mut server: TcpStream,
) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // Plain text already decrypted (the handshake's last read may have brought the
        // startup message with it) goes on before waiting for more.
        loop {
            match tls.reader().read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => server.write_all(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        while tls.wants_write() {
            tls.write_tls(&mut client)?;
        }
        let mut fds = [
            libc::pollfd {
                fd: client.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: server.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds holds two valid pollfd structs for the duration of the call.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, 30_000) } <= 0 {
            return Ok(());
        }
        if fds[0].revents != 0 {
            if tls.read_tls(&mut client)? == 0 {
                return Ok(());
            }
            tls.process_new_packets().map_err(io::Error::other)?;
        }
        if fds[1].revents != 0 {
            let n = server.read(&mut buf)?;
            if n == 0 {
                tls.send_close_notify();
                while tls.wants_write() {
                    tls.write_tls(&mut client)?;
                }
                return Ok(());
            }
            tls.writer().write_all(&buf[..n])?;
        }
    }
}

/// The test server's address, and the test URL with the front's address in its place.
fn through(url: &str, front: SocketAddr, query: &str) -> String {
    let (scheme_user, rest) = url.split_once('@').expect("URL with user@host");
    let path = &rest[rest.find('/').expect("URL with /db")..];
    let sep = if path.contains('?') { '&' } else { '?' };
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("{sep}{query}")
    };
    format!("{scheme_user}@{front}{path}{query}")
}

fn upstream(url: &str) -> Option<SocketAddr> {
    let rest = url.split_once('@')?.1;
    let host_port = &rest[..rest.find('/')?];
    let host_port = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    };
    host_port.to_socket_addrs().ok()?.next()
}

/// A PostgreSQL env, the server's address and the test URL; `None` (saying why) if the test
/// server is not a TCP URL of the form these tests rewrite.
fn setup() -> Option<(Env, SocketAddr, String)> {
    let env = Env::postgres()?;
    let url = test_database_url()?;
    let Some(server) = upstream(&url) else {
        eprintln!("skipped: DEFER_TEST_DATABASE_URL is not postgres://user@host:port/db");
        return None;
    };
    Some((env, server, url))
}

/// Runs `defer list` through `front` with `query` added to the URL and `ca` trusted.
fn list_through(
    env: &mut Env,
    url: &str,
    front: &Front,
    query: &str,
    ca: &Authority,
) -> crate::util::Run {
    env.set(
        "DEFER_DATABASE_URL",
        through(url, front.addr, query).as_str(),
    );
    env.set("SSL_CERT_FILE", ca.pem_file.path().as_os_str());
    env.run(&["list", "--compact"])
}

#[test]
fn verify_full_accepts_a_trusted_certificate_that_names_the_host_and_nothing_else() {
    let Some((mut env, server, url)) = setup() else {
        return;
    };
    let ca = Authority::new();
    let named = Front::start(
        server,
        Offer {
            tls: Some(ca.server_config(&["127.0.0.1"])),
            plain: false,
        },
    );
    let run = list_through(&mut env, &url, &named, "sslmode=verify-full", &ca);
    assert!(run.success(), "{}", run.stderr);
    assert_eq!(named.tls(), 1);

    let other_name = Front::start(
        server,
        Offer {
            tls: Some(ca.server_config(&["db.test"])),
            plain: false,
        },
    );
    let run = list_through(&mut env, &url, &other_name, "sslmode=verify-full", &ca);
    assert!(
        !run.success(),
        "a certificate for another host was accepted"
    );
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);

    let untrusted = Front::start(
        server,
        Offer {
            tls: Some(self_signed_config(&["127.0.0.1"])),
            plain: false,
        },
    );
    let run = list_through(&mut env, &url, &untrusted, "sslmode=verify-full", &ca);
    assert!(!run.success(), "an untrusted certificate was accepted");
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
}

#[test]
fn verify_ca_checks_the_chain_but_not_the_host_name() {
    let Some((mut env, server, url)) = setup() else {
        return;
    };
    let ca = Authority::new();
    let other_name = Front::start(
        server,
        Offer {
            tls: Some(ca.server_config(&["db.test"])),
            plain: false,
        },
    );
    let run = list_through(&mut env, &url, &other_name, "sslmode=verify-ca", &ca);
    assert!(run.success(), "{}", run.stderr);
    assert_eq!(other_name.tls(), 1);

    let untrusted = Front::start(
        server,
        Offer {
            tls: Some(self_signed_config(&["127.0.0.1"])),
            plain: false,
        },
    );
    let run = list_through(&mut env, &url, &untrusted, "sslmode=verify-ca", &ca);
    assert!(!run.success(), "an untrusted certificate was accepted");
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
}

#[test]
fn require_and_prefer_encrypt_without_judging_the_certificate() {
    let Some((mut env, server, url)) = setup() else {
        return;
    };
    let ca = Authority::new();
    for mode in ["sslmode=require", "sslmode=prefer"] {
        let untrusted = Front::start(
            server,
            Offer {
                tls: Some(self_signed_config(&["db.test"])),
                plain: false,
            },
        );
        let run = list_through(&mut env, &url, &untrusted, mode, &ca);
        assert!(run.success(), "{mode}: {}", run.stderr);
        assert_eq!((untrusted.tls(), untrusted.plain()), (1, 0), "{mode}");
    }
}

#[test]
fn prefer_falls_back_to_plain_text_and_require_does_not() {
    let Some((mut env, server, url)) = setup() else {
        return;
    };
    let ca = Authority::new();
    let no_tls = Front::start(
        server,
        Offer {
            tls: None,
            plain: true,
        },
    );
    let run = list_through(&mut env, &url, &no_tls, "sslmode=prefer", &ca);
    assert!(run.success(), "{}", run.stderr);
    assert_eq!((no_tls.tls(), no_tls.plain()), (0, 1));

    let run = list_through(&mut env, &url, &no_tls, "sslmode=require", &ca);
    assert!(!run.success(), "require went on without TLS");
    assert_eq!(no_tls.plain(), 1, "require sent a plain-text startup");
}

#[test]
fn disable_never_asks_for_tls() {
    let Some((mut env, server, url)) = setup() else {
        return;
    };
    let ca = Authority::new();
    let front = Front::start(
        server,
        Offer {
            tls: Some(ca.server_config(&["127.0.0.1"])),
            plain: true,
        },
    );
    let run = list_through(&mut env, &url, &front, "sslmode=disable", &ca);
    assert!(run.success(), "{}", run.stderr);
    assert_eq!((front.tls(), front.plain()), (0, 1));
}

/// No `sslmode` and a loopback host: plain text first (libpq's `allow`), and TLS when the
/// server admits only encrypted connections.
#[test]
fn a_local_server_that_admits_only_tls_is_spoken_to_in_tls_after_the_plain_attempt() {
    let Some((mut env, server, url)) = setup() else {
        return;
    };
    let ca = Authority::new();
    let both = Front::start(
        server,
        Offer {
            tls: Some(self_signed_config(&["db.test"])),
            plain: true,
        },
    );
    let run = list_through(&mut env, &url, &both, "", &ca);
    assert!(run.success(), "{}", run.stderr);
    assert_eq!((both.tls(), both.plain()), (0, 1), "plain text first");

    let tls_only = Front::start(
        server,
        Offer {
            tls: Some(self_signed_config(&["db.test"])),
            plain: false,
        },
    );
    let run = list_through(&mut env, &url, &tls_only, "", &ca);
    assert!(run.success(), "{}", run.stderr);
    assert_eq!((tls_only.refused(), tls_only.tls()), (1, 1));
}
