use std::path::{Component, Path, PathBuf};

use clap::Args;

use super::CliError;
use super::output::Sink;
use crate::import::{ImportError, ImportOptions, RoleArg, import};
use crate::model::Model;

const IMPORT_HELP: &str = "\
Examples:
  hasim import calibration/k8s/ -o pipeline.toml
  kubectl get deploy,sts,ds,pdb,cm,nodes -A -o yaml | hasim import - -o pipeline.toml
  helm template my-release chart/ | hasim import - --nodes 3 --rollouts 7d

Each Deployment, StatefulSet and DaemonSet becomes a stage named after it; its role comes
from the main container's image (influxdb: store, telegraf: collector, chronograf or
grafana: reader, else component). Probes, grace periods, rollout strategies,
PodDisruptionBudgets, anti-affinity, volumes and a Telegraf's telegraf.conf (from its
ConfigMap) are read from the manifests, each value with a comment naming its file, line
and field. Failure rates, restart times and node reliability are in no manifest: they are
the bundled models' assumptions, marked ASSUMPTION, unless --calibration gives restart
times. What was ignored or approximated is printed on standard error. The model is checked
as `hasim check` would before it is written; nothing is written on error.";

#[derive(Debug, Args)]
#[command(after_help = IMPORT_HELP)]
pub struct ImportArgs {
    /// Manifest files or directories (*.yaml, *.yml, *.json, recursively), or `-` for
    /// standard input: multi-document YAML, `kind: List`, helm template or kustomize
    /// build output.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write the model here (default: standard output).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Override the role read from a workload's image (repeatable):
    /// `--role my-db=store`; roles: source, collector, store, reader, component.
    #[arg(long = "role", value_name = "NAME=ROLE")]
    pub roles: Vec<RoleArg>,
    /// Nodes to model when the manifests hold no Node objects (named node-1 …).
    #[arg(long, value_name = "N")]
    pub nodes: Option<usize>,
    /// A calibration file (`hasim calibrate`, `hasim fit --out`): its entries named
    /// STAGE-restart and STAGE-recreate become the stages' restart times.
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// How often each workload is rolled out (`7d`): adds a [maintenance] table from each
    /// update strategy; without it those tables are written commented out.
    #[arg(long, value_name = "DURATION")]
    pub rollouts: Option<String>,
    /// The model's name (default: "Imported: " and the workloads' names).
    #[arg(long)]
    pub name: Option<String>,
}

impl From<ImportError> for CliError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Bad(m) => CliError::BadInput(m),
            ImportError::Io(m) => CliError::Failed(m),
        }
    }
}

/// The import options the flags give, for an output at `out`.
pub fn options(args: &ImportArgs) -> Result<ImportOptions, CliError> {
    if let Some(r) = &args.rollouts {
        super::duration_flag("rollouts", r, false)?;
    }
    if args.nodes == Some(0) {
        return Err(CliError::BadInput("--nodes: at least 1".into()));
    }
    let calibration = args.calibration.as_ref().map(|c| {
        let base = args
            .out
            .as_deref()
            .filter(|o| *o != Path::new("-"))
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        (c.clone(), relative(c, base).display().to_string())
    });
    Ok(ImportOptions {
        roles: args.roles.iter().map(|r| (r.0.clone(), r.1)).collect(),
        nodes: args.nodes,
        calibration,
        rollouts: args.rollouts.clone(),
        name: args.name.clone(),
    })
}

/// Imports and checks the model; its text, the model, and the notes.
pub fn imported(args: &ImportArgs) -> Result<(String, Model, Vec<String>), CliError> {
    let opts = options(args)?;
    let got = import(&args.paths, &opts)?;
    let base = args
        .out
        .as_deref()
        .filter(|o| *o != Path::new("-"))
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let model = Model::from_str("(imported model)", &got.toml, &base, &[]).map_err(|e| {
        CliError::BadInput(format!(
            "the imported model does not check — please report this with the manifests: {e}"
        ))
    })?;
    Ok((got.toml, model, got.notes))
}

pub fn import_cmd(args: &ImportArgs) -> Result<(), CliError> {
    let inputs: Vec<PathBuf> = crate::import::yaml::files(&args.paths)?
        .into_iter()
        .chain(args.calibration.clone())
        .collect();
    let sink = Sink::open(args.out.as_deref(), &inputs)?;
    let (text, model, notes) = imported(args)?;
    for n in &notes {
        super::progress::note(format_args!("hasim import: {n}"));
    }
    sink.write(&text)?;
    if let Some(out) = args.out.as_deref().filter(|o| *o != Path::new("-")) {
        super::progress::note(format_args!(
            "hasim import: wrote {} ({} stages, {} nodes)",
            out.display(),
            model.stages.len(),
            model.nodes.len()
        ));
    }
    Ok(())
}

/// `path` as seen from the directory `base` (both taken from the current directory when
/// relative), so a model refers to its calibration file wherever the two are moved
/// together.
fn relative(path: &Path, base: &Path) -> PathBuf {
    let abs = |p: &Path| {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out
    };
    let (p, b) = (abs(path), abs(base));
    let pc: Vec<_> = p.components().collect();
    let bc: Vec<_> = b.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(Path::new("/a/b/cal.toml"), Path::new("/a/m")),
            PathBuf::from("../b/cal.toml")
        );
        assert_eq!(
            relative(Path::new("/a/cal.toml"), Path::new("/a")),
            PathBuf::from("cal.toml")
        );
        assert_eq!(
            relative(Path::new("/a/./x/../cal.toml"), Path::new("/a/")),
            PathBuf::from("cal.toml")
        );
    }
}
