//! The examples each command's `--help` ends with. Every line that starts with `  hasim `
//! is parsed by the command line in a test, so an example cannot name a flag that is gone.

pub const RUN: &str = "\
Examples:
  hasim run models/seed.toml
  hasim run models/seed.toml -n 100000 --format json --out result.json
  hasim run models/ha.toml --precision 0.05 --max-replications 2000000
  hasim run models/seed.toml --set stages.C.replicas=3 --set stages.C.restart=10s
  hasim run models/seed-uncertain.toml --uncertainty 200 --format json
  hasim run models/seed.toml -n 100000000 --shard 0/20 --out part-0.json
  hasim run models/seed.toml --format openmetrics --out /var/lib/node_exporter/hasim.prom";

pub const SOLVE: &str = "\
Examples:
  hasim solve models/seed.toml
  hasim solve models/ha.toml --format json";

pub const MERGE: &str = "\
Examples:
  hasim merge part-0.json part-1.json part-2.json
  hasim merge part-0.json part-1.json --format json --out result.json";

pub const CHECK: &str = "\
Examples:
  hasim check models/seed.toml
  hasim check models/seed.toml --set stages.C.replicas=2";

pub const TRACE: &str = "\
Examples:
  hasim trace models/seed.toml --replication 3 | less
  hasim trace models/seed.toml --format json --start 2027-01-01T00:00:00Z --out trace.json";

pub const SWEEP: &str = "\
Examples:
  hasim sweep models/seed.toml --vary stages.C.replicas=1,2,3 -n 20000
  hasim sweep models/seed.toml --vary stages.C.restart=5s..60s:4 --vary stages.B.buffer.limit=1000..100000:3:log
  hasim sweep models/ha.toml --vary stages.C.replicas=2,3 --precision 0.1 --format json --out sweep.jsonl";

pub const REPORT: &str = "\
Examples:
  hasim report models/seed.toml --out reports/seed
  hasim report models/ha.toml --out reports/ha --precision 0.1 --force
  hasim report models/seed-uncertain.toml --out reports/uncertain --uncertainty 100";

pub const FIT: &str = "\
Examples:
  hasim fit restarts.csv
  hasim fit restarts.csv --dist lognormal --plot fit.png --out cal.toml --name influxdb-restart";

pub const PROBE: &str = "\
Examples:
  hasim probe --url http://127.0.0.1:8086 --create --duration 10m --out ops.csv
  hasim probe --url https://influx.example:8086 --api v2 --org ops --bucket probe --token \"$INFLUX_TOKEN\"
  hasim probe --url http://127.0.0.1:8086 --listen 127.0.0.1:9464";

pub const CALIBRATE: &str = "\
Examples:
  hasim calibrate local --start 'influxd run' --ready-url http://127.0.0.1:8086/ping --out cal.toml --name influxdb-local
  hasim calibrate k8s --namespace hasim --target statefulset/influxdb --fault delete-pod --out cal.toml --dry-run
  hasim calibrate history --incidents incidents.csv --from 2026-01-01T00:00:00Z --to 2026-12-01T00:00:00Z";

#[cfg(feature = "k8s")]
pub const IMPORT: &str = "\
Examples:
  hasim import calibration/k8s/ -o model.toml
  helm template my-release chart/ | hasim import - --nodes 3 -o model.toml";

pub const ADVISE: &str = "\
Examples:
  hasim advise models/seed.toml
  hasim advise --from-manifests calibration/k8s/ --slo 0.999 -n 20000 --format json";

pub const COMPLETIONS: &str = "\
Examples:
  hasim completions bash > ~/.local/share/bash-completion/completions/hasim
  hasim completions zsh > ~/.zfunc/_hasim
  hasim completions fish > ~/.config/fish/completions/hasim.fish";

/// The example command lines of a help text, split into words as a shell would (single
/// and double quotes; what follows `|` or `>` is the shell's, not hasim's).
#[cfg(test)]
pub fn commands(help: &str) -> Vec<Vec<String>> {
    help.lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| l.starts_with("hasim "))
        .map(|l| {
            let mut words = vec![];
            let (mut word, mut quote, mut any) = (String::new(), None, false);
            for c in l.chars() {
                match (quote, c) {
                    (None, '\'' | '"') => (quote, any) = (Some(c), true),
                    (Some(q), c) if c == q => quote = None,
                    (None, ' ') => {
                        if any || !word.is_empty() {
                            words.push(std::mem::take(&mut word));
                        }
                        any = false;
                    }
                    (None, '|' | '>') => break,
                    _ => word.push(c),
                }
            }
            if any || !word.is_empty() {
                words.push(word);
            }
            words
        })
        .collect()
}
