//! Work over many independent items, split across the machine's cores.
//!
//! Checking node templates and instantiating them are the processor's two largest stages after
//! reading the YAML, and each item of them reads only shared, finished data: a service of
//! thousands of templates is checked and instantiated in contiguous parts, one thread per
//! core, and the parts' results are put back in the items' order, so the output (problems
//! included) is the same as one thread's.

use std::num::NonZeroUsize;
use std::thread;

/// Below this many items one thread does the work: starting threads would cost more than it
/// saves, and the agent compiles small services often.
const WORTH_SPLITTING: usize = 1_000;

/// At most this many threads: beyond it the parts fight over the allocator and memory.
const MOST_THREADS: usize = 4;

/// Runs `work` on contiguous parts of `items`, one part per core, and returns the parts'
/// results in the items' order. A panic in any part is raised again here.
pub fn in_parts<T: Sync, R: Send>(items: &[T], work: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    // Asked only for many items: the answer takes reading cgroup files, and the agent
    // compiles small services often.
    if items.len() < WORTH_SPLITTING {
        return vec![work(items)];
    }
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = cores.min(MOST_THREADS);
    if threads < 2 {
        return vec![work(items)];
    }
    let size = items.len().div_ceil(threads);
    let (first, rest) = items.split_at(size);
    let work = &work;
    thread::scope(|scope| {
        let others: Vec<_> = rest
            .chunks(size)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        let mut results = vec![work(first)];
        for other in others {
            results.push(
                other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_back_in_order_and_cover_every_item() {
        for n in [0, 1, 999, 1_000, 1_001, 4_099] {
            let items: Vec<usize> = (0..n).collect();
            let parts = in_parts(&items, |part| part.to_vec());
            assert_eq!(parts.concat(), items, "{n} items");
            if n >= WORTH_SPLITTING && thread::available_parallelism().unwrap().get() > 1 {
                assert!(parts.len() > 1, "{n} items were not split");
            }
        }
    }

    #[test]
    fn a_panic_in_a_part_is_raised_again() {
        let items: Vec<usize> = (0..5_000).collect();
        let caught = std::panic::catch_unwind(|| {
            in_parts(&items, |part| {
                assert!(!part.contains(&4_999), "the last part")
            })
        });
        assert!(caught.is_err());
    }
}
