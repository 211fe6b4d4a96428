//! OVSDB framing and decoding: a byte stream from ovsdb-server, cut into reads anywhere, frames
//! into the same messages however it is cut, and every decoder takes any message without a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vhostuser::ovsdb::{Datum, fuzzing};

fuzz_target!(|data: &[u8]| {
    // The first byte says where the stream is cut into reads.
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let whole = fuzzing::messages(&[stream]);
    let step = usize::from(cut).max(1);
    let chunks: Vec<&[u8]> = stream.chunks(step).collect();
    let pieces = fuzzing::messages(&chunks);
    // Cut into reads, the stream may stop earlier at a framing error, never differ before it.
    let same = whole.len().min(pieces.len());
    assert_eq!(whole[..same], pieces[..same]);
    for message in whole.iter().flatten() {
        let _ = fuzzing::transact_reply(message);
        let _ = fuzzing::schema(message);
        let _ = Datum::from_json(message);
        if let Some(result) = message.get("result") {
            let _ = fuzzing::transact_reply(result);
            let _ = fuzzing::schema(result);
        }
    }
});
