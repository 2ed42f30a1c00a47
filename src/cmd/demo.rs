//! `ctibridge demo`.

use ctibridge::exit::Exit;

pub(crate) fn demo() -> Exit {
    let mut out = ctibridge::redact::Masking::new(std::io::stdout().lock());
    match ctibridge::demo::run(&mut out) {
        Ok(summary) if summary.dialled && summary.screen_pops > 0 => Exit::Ok,
        Ok(_) => {
            errln!("error: the demo did not see a call placed and popped");
            Exit::Network
        }
        Err(e) => {
            errln!("error: {e}");
            Exit::Network
        }
    }
}
