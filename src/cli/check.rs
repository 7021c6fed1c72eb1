use clap::Args;

use super::output::Sink;
use super::{CliError, ModelArgs};

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn check(args: &CheckArgs) -> Result<(), CliError> {
    let model = args.model.load()?;
    Sink::open(None, &[])?.write(&model.to_resolved_toml())
}
