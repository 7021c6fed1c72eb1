//! The probe through the API server's service proxy
//! (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/…`): it reaches whichever Pod backs
//! the Service, so it survives Pod restarts (a port-forward is bound to one Pod and dies
//! with it), and it needs nothing but the credentials hasim already has.

use std::time::Duration;

use kube::Client;

use crate::calibrate::probe::Transport;

/// InfluxDB's HTTP API behind a Service, reached through the API server.
pub struct ServiceProxy {
    client: Client,
    runtime: tokio::runtime::Handle,
    base: String,
    timeout: Duration,
}

impl ServiceProxy {
    /// `service` is `NAME:PORT` (the port's number or name). Calls block on `runtime`, so
    /// use it from a thread of its own, not from inside the runtime.
    pub fn new(
        client: Client,
        runtime: tokio::runtime::Handle,
        namespace: &str,
        service: &str,
        timeout: Duration,
    ) -> Self {
        ServiceProxy {
            client,
            runtime,
            base: format!("/api/v1/namespaces/{namespace}/services/{service}/proxy"),
            timeout,
        }
    }

    fn send(
        &self,
        method: http::Method,
        path: &str,
        query: &[(&str, &str)],
        body: &str,
    ) -> Result<String, String> {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}?{query}", self.base))
            .body(body.as_bytes().to_vec())
            .map_err(|e| e.to_string())?;
        let answer = self.runtime.block_on(async {
            tokio::time::timeout(self.timeout, self.client.request_text(request)).await
        });
        match answer {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("timed out after {:?}", self.timeout)),
        }
    }
}

impl Transport for ServiceProxy {
    fn command(&self, q: &str) -> Result<(), String> {
        self.send(http::Method::POST, "/query", &[("q", q)], "")
            .map(drop)
    }

    fn write(&self, db: &str, line: &str) -> Result<(), String> {
        self.send(http::Method::POST, "/write", &[("db", db)], line)
            .map(drop)
    }

    fn query(&self, db: &str, q: &str) -> Result<String, String> {
        self.send(http::Method::GET, "/query", &[("db", db), ("q", q)], "")
    }
}
