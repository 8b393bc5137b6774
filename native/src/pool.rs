//! A fork-safe, lazily built rayon thread pool.
//!
//! The pool is created on first use in each process. A process forked from one that already
//! had a pool (DataLoader workers) sees a different pid and builds its own; the parent's pool
//! object is leaked in the child, never dropped, because its threads do not exist there.
//! The thread count is `MEDFUSION_NATIVE_THREADS` (default: available cores), or the value
//! given to [`set_threads`].

use std::sync::{Arc, Mutex};

use rayon::{ThreadPool, ThreadPoolBuilder};

/// Environment variable holding the number of threads of the pool.
pub const ENV_THREADS: &str = "MEDFUSION_NATIVE_THREADS";

struct State {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
static OVERRIDE: Mutex<Option<usize>> = Mutex::new(None);

/// Threads a new pool gets: the [`set_threads`] override, else `MEDFUSION_NATIVE_THREADS`,
/// else the available cores.
pub fn configured_threads() -> usize {
    if let Some(n) = *OVERRIDE.lock().unwrap_or_else(|e| e.into_inner()) {
        return n;
    }
    std::env::var(ENV_THREADS)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Set the thread count (`None`: back to the environment/default); a pool of another size is
/// rebuilt on next use, one of the same size is kept.
pub fn set_threads(threads: Option<usize>) {
    *OVERRIDE.lock().unwrap_or_else(|e| e.into_inner()) = threads.filter(|&n| n >= 1);
    let wanted = configured_threads();
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let keep = matches!(state.as_ref(), Some(s) if s.pid == std::process::id() && s.threads == wanted);
    if !keep {
        if let Some(old) = state.take() {
            retire(old);
        }
    }
}

/// Drop a pool built in this process; leak one inherited through fork.
fn retire(old: State) {
    if old.pid == std::process::id() {
        drop(old.pool);
    } else {
        std::mem::forget(old.pool);
    }
}

/// The pool of this process, built if missing or inherited from a parent process.
pub fn pool() -> Arc<ThreadPool> {
    let pid = std::process::id();
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(current) = state.as_ref() {
        if current.pid == pid {
            return Arc::clone(&current.pool);
        }
    }
    if let Some(old) = state.take() {
        retire(old);
    }
    let threads = configured_threads();
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("medfusion-native-{i}"))
        .build()
        .map(Arc::new)
        .unwrap_or_else(|_| {
            Arc::new(
                ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .expect("a one-thread rayon pool"),
            )
        });
    *state = Some(State {
        pid,
        threads,
        pool: Arc::clone(&pool),
    });
    pool
}

/// Threads of this process's pool, or that a pool built now would get (nothing is started).
pub fn threads() -> usize {
    let state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    match state.as_ref() {
        Some(current) if current.pid == std::process::id() => current.threads,
        _ => configured_threads(),
    }
}

/// Run `f` inside this process's pool, so its rayon iterators use the pool's threads.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    pool().install(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn override_sets_thread_count_and_install_uses_it() {
        set_threads(Some(2));
        assert_eq!(threads(), 2);
        let inside = install(rayon::current_num_threads);
        assert_eq!(inside, 2);
        let total: u64 = install(|| (0..1000u64).into_par_iter().sum());
        assert_eq!(total, 499_500);
        set_threads(Some(1));
        assert_eq!(install(rayon::current_num_threads), 1);
        set_threads(None);
        assert!(threads() >= 1);
    }
}
