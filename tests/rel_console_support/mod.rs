//! What the console's reliability suites share: the real `fleetdeck serve` as a child
//! process (stopped and started on the same port and state), and a scripted HTTP
//! server that answers as a test says, forwarding everything else to a real control
//! plane, so a test can break exactly one answer.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `fleetdeck token new`: appends to `file` and returns the printed token.
pub fn new_token(file: &Path, user: &str, roles: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "new", "--user", user, "--role", roles, "--tokens"])
        .arg(file)
        .output()
        .expect("fleetdeck token new runs");
    assert!(
        out.status.success(),
        "token new: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The real control plane as its own process: `fleetdeck serve` on a fixed loopback
/// port, so it can be killed and started again where the console expects it.
pub struct ServeProcess {
    pub port: u16,
    pub base: String,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl ServeProcess {
    /// Starts on a free port with `config` as the fleet file and `tokens` as the token
    /// file, state in `dir`; waits until it answers.
    pub fn start(dir: &Path, config: &str, tokens: &Path) -> ServeProcess {
        std::fs::write(dir.join("fleet.toml"), config).unwrap();
        std::fs::copy(tokens, dir.join("tokens")).unwrap();
        let port = free_port();
        let mut s = ServeProcess {
            port,
            base: format!("http://127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
            child: None,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("serve.log"))
            .unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--state")
            .arg(self.dir.join("state.db"))
            .arg("--tokens")
            .arg(self.dir.join("tokens"))
            .arg("--config")
            .arg(self.dir.join("fleet.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("fleetdeck serve starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "fleetdeck serve exited with {status}: {}",
                    std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "fleetdeck serve never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: the server vanishes mid-stream, as in a crash or a lost host.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port and state file.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One request as the scripted server read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub head: String,
    pub body: Vec<u8>,
}

/// What the scripted server does with one request.
pub enum Reply {
    /// Pass it to the real server unchanged.
    Forward,
    /// Write these bytes and close.
    Raw(Vec<u8>),
    /// Wait, then do the rest.
    After(Duration, Box<Reply>),
    /// An event stream: the head, these chunks, then a keep-alive every second.
    Sse(Vec<String>),
    /// Accept and never answer.
    Hang,
}

impl Reply {
    pub fn json(status: u16, content_type: &str, body: &str) -> Reply {
        Reply::Raw(
            format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }

    pub fn ok_json(body: &str) -> Reply {
        Reply::json(200, "application/json", body)
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A scripted HTTP/1.1 server on a loopback port. Every request it sees is recorded.
pub struct Scripted {
    pub addr: SocketAddr,
    pub base: String,
    pub seen: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Scripted {
    /// `upstream` is where [`Reply::Forward`] goes.
    pub async fn start(
        upstream: Option<SocketAddr>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Scripted {
        Scripted::start_on(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            upstream,
            handler,
        )
    }

    pub fn start_on(
        listener: TcpListener,
        upstream: Option<SocketAddr>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Scripted {
        let addr = listener.local_addr().unwrap();
        let handler: Handler = Arc::new(handler);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let handler = handler.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve_one(sock, upstream, handler, log).await;
                });
            }
        });
        Scripted {
            addr,
            base: format!("http://{addr}"),
            seen,
            task,
        }
    }

    pub fn requests(&self, method: &str, path_prefix: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .count()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await? == 0 {
            return Ok(None);
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    sock.read_exact(&mut body).await?;
    Ok(Some(Request {
        method,
        path,
        head,
        body,
    }))
}

fn serve_one(
    mut sock: TcpStream,
    upstream: Option<SocketAddr>,
    handler: Handler,
    log: Arc<Mutex<Vec<Request>>>,
) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let Some(req) = read_request(&mut sock).await? else {
            return Ok(());
        };
        log.lock().unwrap().push(req.clone());
        let reply = handler(&req);
        answer(sock, req, reply, upstream).await
    })
}

fn answer(
    mut sock: TcpStream,
    req: Request,
    reply: Reply,
    upstream: Option<SocketAddr>,
) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        match reply {
            Reply::Raw(bytes) => {
                sock.write_all(&bytes).await?;
                sock.shutdown().await?;
            }
            Reply::After(delay, rest) => {
                tokio::time::sleep(delay).await;
                answer(sock, req, *rest, upstream).await?;
            }
            Reply::Sse(chunks) => {
                sock.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n",
                )
                .await?;
                for c in chunks {
                    sock.write_all(c.as_bytes()).await?;
                }
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    sock.write_all(b": keep-alive\n\n").await?;
                }
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Reply::Forward => {
                let upstream = upstream.expect("Forward needs an upstream");
                let mut up = TcpStream::connect(upstream).await?;
                // One request per connection, so every request passes the handler.
                let head = req
                    .head
                    .lines()
                    .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("\r\n");
                up.write_all(format!("{head}\r\nconnection: close\r\n\r\n").as_bytes())
                    .await?;
                up.write_all(&req.body).await?;
                let _ = tokio::io::copy_bidirectional(&mut sock, &mut up).await;
            }
        }
        Ok(())
    })
}

/// Waits until `check` holds, polling; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
