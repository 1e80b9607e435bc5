//! The demo behind a real nginx that appends the client's address to
//! `X-Forwarded-For`: a client sending its own `Forwarded`, `X-Real-IP`
//! and `X-Forwarded-For` entries is still counted on its real address and
//! locked at the limit. Skipped (and passing) without Debian's `nginx`.

mod support;

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{loginguard, start_demo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The address the attacking client sends from: loopback, but not the
/// proxy's own 127.0.0.1.
const CLIENT: &str = "127.0.0.2";

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// nginx in the foreground, killed when dropped.
struct Nginx {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_nginx(binary: &Path, dir: &Path, upstream: SocketAddr) -> Nginx {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
               proxy_pass http://{upstream};\n\
               proxy_set_header Host $host;\n\
               proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
           }}\n  }}\n}}\n"
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen on {addr}: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx { child, addr }
}

/// `POST /login` from `CLIENT` with forged forwarding headers naming
/// `fake`; returns the status code.
async fn forged_login(addr: SocketAddr, fake: &str) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(CLIENT.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let body = "username=alice&password=wrong";
    let request = format!(
        "POST /login HTTP/1.1\r\nhost: localhost\r\n\
         content-type: application/x-www-form-urlencoded\r\n\
         forwarded: for={fake}\r\nx-real-ip: {fake}\r\nx-forwarded-for: {fake}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .expect("nginx answers")
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad response {text:?}"))
}

#[test]
fn forged_forwarding_headers_through_nginx_are_locked_at_the_limit() {
    let Some(binary) = nginx_binary() else {
        loginguard_testing::skip!("nginx is not installed (apt-get install nginx runs this test)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loginguard.toml"),
        "store = \"sqlite://lg.db\"\nfailure_limit = 3\ncool_off = \"10m\"\n\
         lockout_parameters = [\"ip\"]\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
    )
    .unwrap();
    let demo = start_demo(dir.path());
    let nginx_dir = tempfile::tempdir().unwrap();
    let nginx = start_nginx(&binary, nginx_dir.path(), demo.addr);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let statuses: Vec<u16> = rt.block_on(async {
        let mut out = Vec::new();
        for n in 1..=5 {
            out.push(forged_login(nginx.addr, &format!("203.0.113.{n}")).await);
        }
        out
    });
    assert_eq!(statuses, [401, 401, 429, 429, 429], "one key, locked at 3");

    let list = loginguard(dir.path())
        .args(["list", "--json"])
        .output()
        .unwrap();
    assert!(list.status.success(), "{list:?}");
    let keys: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let ips: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["ip"].as_str())
        .collect();
    assert_eq!(ips, [CLIENT], "keyed on the real client only: {keys}");
}
