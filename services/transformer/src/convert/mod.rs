//! The one-shot mode: `imagepipe-transformer convert [options] --out-dir DIR FILE...` runs the engine on files,
//! without a broker, and reports one line per input.

mod args;
mod run;

pub use args::{ConvertArgs, ConvertJob};
pub use run::{Report, Written, convert_file, run};
