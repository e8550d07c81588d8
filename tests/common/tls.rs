//! A real TLS server on loopback for replay tests, with certificates made here: a test CA, a server certificate
//! for `api.internal`, and a client certificate. It records the SNI each connection sent and the request that
//! came over it, and can require a client certificate signed by the CA.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The certificates of a test, written as PEM files in a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
    ca_der: CertificateDer<'static>,
    /// The server certificate chain and key, per name.
    servers: Vec<(String, CertificateDer<'static>, Vec<u8>)>,
}

impl Pki {
    /// A CA, server certificates for `names` (each its own), and a client certificate.
    pub fn new(names: &[&str]) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "gatewatch test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let mut servers = Vec::new();
        for name in names {
            let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
            p.distinguished_name.push(DnType::CommonName, *name);
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &issuer).unwrap();
            servers.push((name.to_string(), cert.der().clone(), key.serialize_der()));
        }
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, "gatewatch test client");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.path().join("client.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("client.key"), key.serialize_pem()).unwrap();
        Pki { ca_der: ca.der().clone(), servers, dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn ca(&self) -> String {
        self.path("ca.pem").display().to_string()
    }
    pub fn client_cert(&self) -> String {
        self.path("client.pem").display().to_string()
    }
    pub fn client_key(&self) -> String {
        self.path("client.key").display().to_string()
    }

    fn server(&self, name: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let (_, cert, key) = self.servers.iter().find(|(n, ..)| n == name).expect("a certificate for that name");
        (vec![cert.clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.clone())))
    }
}

/// One request as the TLS server saw it.
#[derive(Clone, Debug)]
pub struct TlsSeen {
    /// The SNI the client sent.
    pub sni: Option<String>,
    /// Whether it presented a client certificate.
    pub client_cert: bool,
    pub target: String,
    pub host: Option<String>,
}

/// A TLS server on loopback answering every request with `status`.
pub struct TlsServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<TlsSeen>>>,
    /// SNI of every handshake, finished or not.
    handshakes: Arc<Mutex<Vec<Option<String>>>>,
}

impl TlsServer {
    /// Serve with the certificate for `name`; `require_client_cert` asks for one signed by the CA.
    pub fn start(pki: &Pki, name: &str, require_client_cert: bool, status: u16) -> TlsServer {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca_der.clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let (chain, key) = pki.server(name);
        let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<TlsSeen>>> = Arc::default();
        let handshakes: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let (log, hs) = (seen.clone(), handshakes.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else { return };
                    let (config, log, hs) = (config.clone(), log.clone(), hs.clone());
                    tokio::spawn(async move {
                        let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
                        let Ok(start) = start.await else { return };
                        let sni = start.client_hello().server_name().map(str::to_string);
                        hs.lock().unwrap().push(sni.clone());
                        let Ok(tls) = start.into_stream(config).await else { return };
                        let client_cert = tls.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
                        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let (log, sni) = (log.clone(), sni.clone());
                            async move {
                                let target = req.uri().path_and_query().map_or("/".into(), |p| p.as_str().to_string());
                                let host = req
                                    .headers()
                                    .get("host")
                                    .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
                                log.lock().unwrap().push(TlsSeen { sni, client_cert, target, host });
                                let body = format!("{{\"served_by\":\"tls\",\"status\":{status}}}");
                                Ok::<_, std::convert::Infallible>(
                                    hyper::Response::builder()
                                        .status(status)
                                        .body(Full::new(Bytes::from(body)))
                                        .unwrap(),
                                )
                            }
                        });
                        let io = hyper_util::rt::TokioIo::new(tls);
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                    });
                }
            });
        });
        TlsServer { addr, seen, handshakes }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn seen(&self) -> Vec<TlsSeen> {
        self.seen.lock().unwrap().clone()
    }

    /// The SNI of every handshake begun.
    pub fn handshakes(&self) -> Vec<Option<String>> {
        self.handshakes.lock().unwrap().clone()
    }
}

/// Write `text` to `dir/name` and return its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
