//! The command line: parse what was typed, call the library, map the result to an exit
//! status. Exit status: 0 success; 1 a run failed (I/O, simulation); 2 bad input (usage or
//! model); 3 `solve` cannot answer this model.

mod advise;
mod calibrate;
#[cfg(feature = "k8s")]
mod calibrate_k8s;
mod check;
mod examples;
mod fit;
mod history;
#[cfg(feature = "k8s")]
mod import;
mod merge;
mod openmetrics;
mod output;
mod probe;
mod progress;
mod report;
mod run;
mod solve;
mod sweep;
mod trace;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::{LoadError, Model};
use crate::sim::EngineChoice;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;
pub const EXIT_CANNOT_SOLVE: i32 = 3;

const AFTER_HELP: &str = "\
Exit status: 0 success; 1 a run failed (I/O, simulation); 2 bad input (usage or model file,
with file:line:col and the key); 3 `solve` cannot answer this model.

The model file format is described in MODEL-SPEC.md and, in brief, in the README.";

/// How available will a data pipeline on Kubernetes be over a year, and what would make
/// it better? hasim simulates many years of the pipeline (failures, Kubernetes restarts,
/// nodes) and reports availability `1 - X/Y` with confidence intervals.
#[derive(Debug, Parser)]
#[command(name = "hasim", version = VERSION, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No progress bars or notes on what is being done (standard error); warnings and
    /// errors are still written.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate many years of the model and report availability, downtime, outages, SLO.
    #[command(after_help = examples::RUN)]
    Run(run::RunArgs),
    /// Steady-state availability without simulation (an analytic cross-check).
    #[command(after_help = examples::SOLVE)]
    Solve(solve::SolveArgs),
    /// Join the parts of a sharded run (`hasim run --shard I/N --out PART`) into exactly
    /// the results of the whole run.
    #[command(after_help = examples::MERGE)]
    Merge(merge::MergeArgs),
    /// Validate a model and print it resolved: units in seconds, defaults filled in.
    #[command(after_help = examples::CHECK)]
    Check(check::CheckArgs),
    /// The event log of one simulated history (time, stage, replica, event, state after).
    #[command(after_help = examples::TRACE)]
    Trace(trace::TraceArgs),
    /// Run a grid of variations of the model (common random numbers) as CSV or JSON rows.
    #[command(after_help = examples::SWEEP)]
    Sweep(sweep::SweepArgs),
    /// A study of the model: charts (PNG) with their data (CSV) and an index.html.
    #[command(after_help = examples::REPORT)]
    Report(report::ReportArgs),
    /// Fit restart-time distributions to measured samples (maximum likelihood, censored
    /// samples included; AIC to choose).
    #[command(after_help = examples::FIT)]
    Fit(fit::FitArgs),
    /// Continuous writes and reads against InfluxDB's HTTP API: the outages a user sees.
    #[command(after_help = examples::PROBE)]
    Probe(probe::ProbeArgs),
    /// Measure restart times by injecting faults, and fit them into a calibration file.
    #[command(after_help = examples::CALIBRATE)]
    Calibrate(Box<calibrate::CalibrateArgs>),
    /// A model from the cluster's manifests (Deployments, StatefulSets, DaemonSets,
    /// PodDisruptionBudgets, a Telegraf's ConfigMap, Nodes), every value naming its source.
    #[cfg(feature = "k8s")]
    #[command(after_help = examples::IMPORT)]
    Import(import::ImportArgs),
    /// (Not in this build: it was built without the `k8s` feature.)
    #[cfg(not(feature = "k8s"))]
    Import(NotBuilt),
    /// The high-availability checks linters make, each measured: downtime a year saved by
    /// the fix, with its paired interval, largest first.
    #[command(after_help = examples::ADVISE)]
    Advise(advise::AdviseArgs),
    /// Shell completions for bash, zsh, fish, elvish or PowerShell, to standard output:
    /// `hasim completions bash > ~/.local/share/bash-completion/completions/hasim`.
    #[command(after_help = examples::COMPLETIONS)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `hasim --version`: the version and the features built in.
#[cfg(feature = "k8s")]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (features: k8s)");
#[cfg(not(feature = "k8s"))]
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (features: none; built without k8s: no calibrate k8s, no import)"
);

/// The arguments of a command this build leaves out: taken whatever they are, so the
/// answer is how to get the command rather than a usage error.
#[cfg(not(feature = "k8s"))]
#[derive(Debug, Args)]
pub struct NotBuilt {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

/// What a command left out of this build answers (exit 2).
#[cfg(not(feature = "k8s"))]
pub fn not_built(command: &str) -> CliError {
    CliError::BadInput(format!(
        "{command} needs the Kubernetes client, which this hasim was built without (the `k8s` feature): build it with the default features, e.g. `cargo install --locked --path .` (without --no-default-features)"
    ))
}

/// The model and its overrides, shared by every command.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model file (TOML; see MODEL-SPEC.md); `-` for standard input (its relative
    /// paths then from the working folder).
    pub model: PathBuf,
    /// Override a model value: `--set stages.C.replicas=3` (repeatable). VALUE is TOML
    /// (`3`, `true`, `"5s"`, `{ dist = "exponential", mean = "30d" }`) or a bare string;
    /// PATH is a TOML dotted key (a name with dots quoted: `stages."influx.db".replicas`).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
}

impl ModelArgs {
    fn load(&self) -> Result<Model, CliError> {
        Model::load(&self.model, &self.sets).map_err(|e| match e {
            LoadError::Io { .. } => CliError::Failed(e.to_string()),
            LoadError::Refused(m) => CliError::BadInput(m),
            LoadError::Model(m) => CliError::BadInput(m.to_string()),
        })
    }
}

/// How many histories, from which seed, on how many threads: shared by `run` and `sweep`.
#[derive(Debug, Args)]
pub struct RunOptions {
    /// Histories to simulate (per point for a sweep; default: the model's
    /// [simulation] replications).
    #[arg(long, short = 'n', value_parser = replications_flag)]
    pub replications: Option<u64>,
    /// Seed; replication i draws from (seed, i), for every point of a sweep alike
    /// (default: the model's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads; 0 = one per core; at most four per core. Results do not depend
    /// on it.
    #[arg(long, default_value_t = 0, value_parser = threads_flag)]
    pub threads: usize,
    /// `auto`: the timeline engine when the model's replicas are independent (no repair
    /// crews, no node that can fail or be drained, no rollout, no replica Pending for
    /// want of a node, no data flow, no reader cache), else the event engine; `events`: always the event engine. Both follow the same rules and
    /// give the same law, from different draws (perf.engine says which ran). Plain runs
    /// only: --method splitting continues the event engine's histories.
    #[arg(long, value_enum, default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
}

impl RunOptions {
    /// What to estimate with these options: `replications` histories of `method` (or,
    /// with `precision`, at most that many), factors from a pilot, paired with `paired`.
    pub fn request<'a>(
        &self,
        method: crate::estimate::Method,
        (replications, seed): (u64, u64),
        precision: Option<f64>,
        paired: Option<&'a Model>,
    ) -> crate::estimate::Request<'a> {
        crate::estimate::Request {
            method,
            seed,
            replications,
            precision,
            threads: self.threads,
            engine: self.engine,
            factors: None,
            importance: None,
            paired,
        }
    }

    /// The replications and seed for `model`: the command line's, else the model's.
    pub fn resolve(&self, model: &Model) -> (u64, u64) {
        (
            self.replications.unwrap_or(model.simulation.replications),
            self.seed.unwrap_or(model.simulation.seed),
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// What a command can end with, other than success.
#[derive(Debug)]
pub enum CliError {
    BadInput(String),
    Failed(String),
    CannotSolve(String),
}

impl From<crate::estimate::plain::RunError> for CliError {
    /// A history past the event budget is the model's doing: bad input.
    fn from(e: crate::estimate::plain::RunError) -> Self {
        match e {
            crate::estimate::plain::RunError::EventBudget { .. } => {
                CliError::BadInput(e.to_string())
            }
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl From<crate::estimate::splitting::SplitError> for CliError {
    /// What the model or the flags make impossible is bad input; the rest a failure.
    fn from(e: crate::estimate::splitting::SplitError) -> Self {
        use crate::estimate::splitting::SplitError;
        match e {
            SplitError::Unsupported(_) | SplitError::Factors { .. } | SplitError::EventBudget => {
                CliError::BadInput(e.to_string())
            }
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl From<crate::estimate::EstimateError> for CliError {
    fn from(e: crate::estimate::EstimateError) -> Self {
        match e {
            crate::estimate::EstimateError::Run(r) => r.into(),
            crate::estimate::EstimateError::Split(s) => s.into(),
        }
    }
}

impl From<crate::estimate::shard::ShardError> for CliError {
    fn from(e: crate::estimate::shard::ShardError) -> Self {
        match e {
            crate::estimate::shard::ShardError::Run(r) => r.into(),
            crate::estimate::shard::ShardError::Merge(m) => CliError::BadInput(m),
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl From<crate::fsio::ReadError> for CliError {
    fn from(e: crate::fsio::ReadError) -> Self {
        match e {
            crate::fsio::ReadError::Io { .. } => CliError::Failed(e.to_string()),
            crate::fsio::ReadError::Refused(m) => CliError::BadInput(m),
        }
    }
}

impl From<crate::calibrate::file::FileError> for CliError {
    fn from(e: crate::calibrate::file::FileError) -> Self {
        match e {
            crate::calibrate::file::FileError::Bad(m) => CliError::BadInput(m),
            crate::calibrate::file::FileError::Io(m) => CliError::Failed(m),
        }
    }
}

/// `--threads`: 0 (one per core) up to four per core.
pub fn threads_flag(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("expected a whole number, found \"{text}\""))?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if n > 4 * cores {
        return Err(format!(
            "at most {} (four per core on this machine's {cores}); 0 = one per core",
            4 * cores
        ));
    }
    Ok(n)
}

/// `-n`, `--max-replications`: a count up to [`crate::model::MAX_REPLICATIONS`].
pub fn replications_flag(text: &str) -> Result<u64, String> {
    let n: u64 = text
        .parse()
        .map_err(|_| format!("expected a whole number, found \"{text}\""))?;
    if n > crate::model::MAX_REPLICATIONS {
        return Err(format!(
            "at most {:e}, found {n}",
            crate::model::MAX_REPLICATIONS
        ));
    }
    Ok(n)
}

/// A URL given as `flag` that can ever work (see `calibrate::probe::check_url`).
pub fn url_flag(flag: &str, url: &str) -> Result<(), CliError> {
    crate::calibrate::probe::check_url(url).map_err(|e| CliError::BadInput(format!("{flag} {e}")))
}

/// `--trials` of a calibration: a distribution needs at least two samples.
pub fn trials_flag(trials: u32) -> Result<(), CliError> {
    if trials < 2 {
        return Err(CliError::BadInput(format!(
            "--trials {trials}: at least 2 are needed to fit a distribution"
        )));
    }
    Ok(())
}

/// A duration given on the command line (`"100ms"`, `"1s"`), at least 0 or above 0.
pub fn duration_flag(
    flag: &str,
    text: &str,
    allow_zero: bool,
) -> Result<std::time::Duration, CliError> {
    crate::units::parse_duration(text)
        .ok()
        .filter(|d| if allow_zero { *d >= 0.0 } else { *d > 0.0 })
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| {
            CliError::BadInput(format!(
                "--{flag}: expected a duration like \"1s\", found \"{text}\""
            ))
        })
}

impl CliError {
    fn exit_code(&self) -> i32 {
        match self {
            CliError::BadInput(_) => EXIT_BAD_INPUT,
            CliError::Failed(_) => EXIT_FAILED,
            CliError::CannotSolve(_) => EXIT_CANNOT_SOLVE,
        }
    }

    fn message(&self) -> &str {
        match self {
            CliError::BadInput(m) | CliError::Failed(m) | CliError::CannotSolve(m) => m,
        }
    }
}

/// Runs the command line and returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    progress::set_quiet(cli.quiet);
    let result = match &cli.command {
        Command::Run(a) => run::run(a),
        Command::Solve(a) => solve::solve(a),
        Command::Check(a) => check::check(a),
        Command::Trace(a) => trace::trace(a),
        Command::Sweep(a) => sweep::sweep(a),
        Command::Report(a) => report::report(a),
        Command::Fit(a) => fit::fit_cmd(a),
        Command::Probe(a) => probe::probe_cmd(a),
        Command::Merge(a) => merge::merge(a),
        Command::Calibrate(a) => calibrate::calibrate(a),
        #[cfg(feature = "k8s")]
        Command::Import(a) => import::import_cmd(a),
        #[cfg(not(feature = "k8s"))]
        Command::Import(_) => Err(not_built("hasim import")),
        Command::Advise(a) => advise::advise_cmd(a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "hasim", &mut out);
            output::Sink::open(None, &[]).and_then(|s| s.write(&String::from_utf8_lossy(&out)))
        }
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("hasim: {}", e.message());
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Every command's help ends with examples, and every example parses.
    #[test]
    fn every_command_has_examples_that_parse() {
        let cli = Cli::command();
        let mut seen = 0;
        for sub in cli.get_subcommands() {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let commands = examples::commands(&help);
            #[cfg(not(feature = "k8s"))]
            if sub.get_name() == "import" {
                continue;
            }
            assert!(
                !commands.is_empty(),
                "hasim {}: no examples",
                sub.get_name()
            );
            for words in commands {
                assert_eq!(words[1], sub.get_name(), "{words:?}");
                #[cfg(not(feature = "k8s"))]
                if words.get(2).is_some_and(|w| w == "k8s") {
                    continue;
                }
                if let Err(e) = Cli::try_parse_from(&words) {
                    panic!("{}: {e}", words.join(" "));
                }
                seen += 1;
            }
        }
        assert!(seen >= 25, "{seen} examples");
    }

    #[test]
    fn examples_split_as_a_shell_would() {
        assert_eq!(
            examples::commands("Examples:\n  hasim a 'b c' \"\" d | less\n  helm x\n  hasim e > f"),
            [vec!["hasim", "a", "b c", "", "d"], vec!["hasim", "e"]]
        );
    }
}
