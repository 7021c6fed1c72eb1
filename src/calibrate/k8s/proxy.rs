//! The probe through the API server's service proxy
//! (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/…`): it reaches whichever Pod backs
//! the Service, so it survives Pod restarts (a port-forward is bound to one Pod and dies
//! with it), and it needs nothing but the credentials hasim already has.

use std::time::Duration;

use kube::Client;

use crate::calibrate::store::{Method, Reply, Request, Transport};

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
}

impl Transport for ServiceProxy {
    fn send(&self, r: &Request) -> Result<Reply, String> {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(r.query.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let mut request = http::Request::builder()
            .method(match r.method {
                Method::Get => http::Method::GET,
                Method::Post => http::Method::POST,
            })
            .uri(format!("{}{}?{query}", self.base, r.path));
        for (k, v) in &r.headers {
            // The API server takes `Authorization` as its own: a store's credentials
            // cannot pass its proxy (the command refuses them before this).
            if !k.eq_ignore_ascii_case("authorization") {
                request = request.header(*k, v);
            }
        }
        let request = request
            .body(r.body.as_bytes().to_vec())
            .map_err(|e| e.to_string())?;
        let answer = self.runtime.block_on(async {
            tokio::time::timeout(self.timeout, self.client.request_text(request)).await
        });
        // The proxy gives the body of a 2xx (its status and headers are not kept: 200
        // stands for any of them) and the status of anything else.
        match answer {
            Ok(Ok(body)) => Ok(Reply {
                status: 200,
                headers: vec![],
                body,
            }),
            Ok(Err(kube::Error::Api(status))) => Ok(Reply {
                status: status.code,
                headers: vec![],
                body: status.message.clone(),
            }),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("timed out after {:?}", self.timeout)),
        }
    }
}
