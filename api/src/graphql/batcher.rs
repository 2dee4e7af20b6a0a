//! Per-request batching of loads: the keys that resolvers ask for while a request runs are
//! collected, and read in one `Loader::load` call per key type as soon as the execution can go
//! no further without them.
//!
//! Why not async-graphql's `DataLoader`: it starts each batch on a spawned task after a delay.
//! With a delay of 0 on a multi-threaded runtime the spawned task runs on the other core at
//! once and takes the few keys registered so far (a page of 50 partnerships loaded its members
//! in batches of 4); with a delay it adds that delay (and tokio's 1 ms timer granularity) to
//! every level of every request. Here the request's execution and its loads are driven by one
//! future ([`Batcher::run`]): a batch starts exactly when the execution is pending, so it holds
//! every key the execution could reach, with no timer and no thread hop, and the statements a
//! query costs do not depend on timing.

use std::any::{Any, TypeId};
use std::future::{Future, poll_fn};
use std::hash::Hash;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::task::AtomicWaker;
use tokio::sync::oneshot;

/// The most keys one `load` call gets; more are read in several calls (the statements bind one
/// parameter per key, and SQLite allows 32,766).
const MAX_BATCH: usize = 1_000;

type Reply<V, E> = oneshot::Sender<Result<Option<V>, E>>;

/// The maps of a batch: the repositories' foldhash map, in which they answer too (their keys
/// are ids and page requests that a page hashes thousands of times; SipHash was 4% of the
/// nested page's instructions).
pub use persistence::Map;

/// What loads the values of one key type, many keys at a time: async-graphql's `Loader`, but
/// answering with a [`Map`].
pub trait Loader<K: Send + Sync + Hash + Eq + Clone + 'static>: Send + Sync + 'static {
    type Value: Send + Sync + Clone + 'static;
    type Error: Send + Clone + 'static;

    /// The values of `keys`; a key without a value is left out.
    fn load(
        &self,
        keys: &[K],
    ) -> impl Future<Output = Result<Map<K, Self::Value>, Self::Error>> + Send;
}

/// The keys of one type waiting for the next batch, each with the resolvers waiting for it.
struct Waiting<K, V, E> {
    waiters: Map<K, Vec<Reply<V, E>>>,
}

/// A batch of one key type, type-erased so that one map holds all key types.
trait Pending<L>: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    fn is_empty(&self) -> bool;
    /// Takes the waiting keys and returns the future that loads them and answers the waiters.
    fn take(&mut self, loader: Arc<L>, delay: Duration) -> BoxFuture<'static, ()>;
}

impl<K, L> Pending<L> for Waiting<K, L::Value, L::Error>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    fn take(&mut self, loader: Arc<L>, delay: Duration) -> BoxFuture<'static, ()> {
        let waiters = std::mem::take(&mut self.waiters);
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let keys: Vec<K> = waiters.keys().cloned().collect();
            // Not allocated ahead: most batches are one chunk, whose map becomes this one.
            let mut values = Map::default();
            for chunk in keys.chunks(MAX_BATCH) {
                match loader.load(chunk).await {
                    // Most batches are one chunk: its map is the answer, not moved value by
                    // value into another.
                    Ok(found) if values.is_empty() => values = found,
                    Ok(found) => values.extend(found),
                    Err(error) => {
                        for reply in waiters.into_values().flatten() {
                            let _ = reply.send(Err(error.clone()));
                        }
                        return;
                    }
                }
            }
            for (key, mut replies) in waiters {
                let value = values.remove(&key);
                // The last waiter (most often the only one) takes the value itself: a page of
                // members or an actor is many allocations to clone.
                let Some(last) = replies.pop() else { continue };
                // A resolver that is gone (its request was cancelled) needs no answer.
                for reply in replies {
                    let _ = reply.send(Ok(value.clone()));
                }
                let _ = last.send(Ok(value));
            }
        })
    }
}

/// The waiting batches of each key type, and whether [`Batcher::run`] is driving them.
struct State<L> {
    running: bool,
    /// A list, not a map: a request uses a handful of key types, and every `load_one` looks
    /// its type up.
    pending: Vec<(TypeId, Box<dyn Pending<L>>)>,
}

/// The loads of one request. Cheap to clone (shared state).
pub struct Batcher<L> {
    loader: Arc<L>,
    /// Waited before each batch is read: batching needs none; a slow database can be played
    /// with it (`batch_window_ms`).
    delay: Duration,
    state: Arc<Mutex<State<L>>>,
}

impl<L> Clone for Batcher<L> {
    fn clone(&self) -> Self {
        Self {
            loader: Arc::clone(&self.loader),
            delay: self.delay,
            state: Arc::clone(&self.state),
        }
    }
}

/// Ends a run, also when it is cancelled (a request timeout): loads asked for afterwards, and
/// those still waiting, fail with [`BatchDropped`] instead of waiting forever.
struct Running<'a, L>(&'a Mutex<State<L>>);

impl<L> Drop for Running<'_, L> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.lock() {
            state.running = false;
            state.pending.clear();
        }
    }
}

impl<L: Send + Sync + 'static> Batcher<L> {
    pub fn new(loader: L, delay: Duration) -> Self {
        Self {
            loader: Arc::new(loader),
            delay,
            state: Arc::new(Mutex::new(State {
                running: false,
                pending: Vec::new(),
            })),
        }
    }

    /// The value of `key`, read with every other key asked for in the same step of the
    /// execution. Answers only inside [`Self::run`]; outside it fails with [`BatchDropped`].
    pub async fn load_one<K>(&self, key: K) -> Result<Option<L::Value>, L::Error>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
        L::Error: From<BatchDropped>,
    {
        let (reply, answer) = oneshot::channel();
        {
            let mut state = self.state.lock().map_err(|_| BatchDropped)?;
            if !state.running {
                return Err(BatchDropped.into());
            }
            let pending = &mut state.pending;
            let index = match pending.iter().position(|(t, _)| *t == TypeId::of::<K>()) {
                Some(index) => index,
                None => {
                    pending.push((
                        TypeId::of::<K>(),
                        Box::new(Waiting::<K, L::Value, L::Error> {
                            waiters: Map::default(),
                        }),
                    ));
                    pending.len() - 1
                }
            };
            let waiting = pending
                .get_mut(index)
                .ok_or(BatchDropped)?
                .1
                .as_any()
                .downcast_mut::<Waiting<K, L::Value, L::Error>>()
                .ok_or(BatchDropped)?;
            waiting.waiters.entry(key).or_default().push(reply);
        }
        answer.await.map_err(|_| BatchDropped)?
    }

    /// The batches waiting now, one per key type.
    fn take_batches(&self) -> Vec<BoxFuture<'static, ()>> {
        let Ok(mut state) = self.state.lock() else {
            return Vec::new();
        };
        state
            .pending
            .iter_mut()
            .map(|(_, p)| p)
            .filter(|p| !p.is_empty())
            .map(|p| p.take(Arc::clone(&self.loader), self.delay))
            .collect()
    }

    /// Runs `work` (a request's execution) and the loads it asks for, in one future: whenever
    /// the execution is blocked, what it waits for is loaded.
    pub async fn run<F: Future>(&self, work: F) -> F::Output {
        if let Ok(mut state) = self.state.lock() {
            state.running = true;
        }
        let _running = Running(&self.state);
        // Without tokio's cooperative budget: once a poll has used it up, every await of a
        // tokio resource returns early, and the execution would stop half-way through a page.
        let mut work = pin!(tokio::task::unconstrained(work));
        let mut loads = FuturesUnordered::new();
        // Two wakers, one for the execution and one for the loads, so that each is polled
        // only when it can go on: a load's rows arrive in many reads of its socket, and
        // polling the whole execution (a page has a thousand resolvers waiting on loads) after
        // each read was a large part of a page's CPU. While the run is polling, a wake only
        // marks that something can go on (the loop polls again); once it returns, wakes reach
        // the task. So the execution is polled again at once when a self-wake (futures-util's
        // `FuturesUnordered`, async-graphql's lists, returns early and wakes itself after
        // polling its members once) or a finished batch lets it go on, its batches hold every
        // key of a step, and the task is not woken for a second, useless poll of the whole
        // execution after each step.
        let task = Arc::new(Task {
            forward: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        let work_flag = Arc::new(WokenFlag {
            woken: AtomicBool::new(true),
            task: Arc::clone(&task),
        });
        let loads_flag = Arc::new(WokenFlag {
            woken: AtomicBool::new(false),
            task: Arc::clone(&task),
        });
        let work_waker = Waker::from(Arc::clone(&work_flag));
        let loads_waker = Waker::from(Arc::clone(&loads_flag));
        poll_fn(|cx| {
            task.waker.register(cx.waker());
            task.forward.store(false, Ordering::SeqCst);
            let mut spins = 0;
            loop {
                if work_flag.woken.swap(false, Ordering::SeqCst) {
                    if let Poll::Ready(out) =
                        work.as_mut().poll(&mut Context::from_waker(&work_waker))
                    {
                        task.forward.store(true, Ordering::SeqCst);
                        return Poll::Ready(out);
                    }
                    if !work_flag.woken.load(Ordering::SeqCst) {
                        // Blocked: load what it waits for.
                        let batches = self.take_batches();
                        if !batches.is_empty() {
                            loads.extend(batches);
                            loads_flag.woken.store(true, Ordering::SeqCst);
                        }
                    }
                }
                if loads_flag.woken.swap(false, Ordering::SeqCst) {
                    let mut inner = Context::from_waker(&loads_waker);
                    while let Poll::Ready(Some(())) = loads.poll_next_unpin(&mut inner) {}
                }
                let woken = || {
                    work_flag.woken.load(Ordering::SeqCst)
                        || loads_flag.woken.load(Ordering::SeqCst)
                };
                if woken() && spins < MAX_SPINS {
                    spins += 1;
                    continue;
                }
                // Nothing can go on now: from here, wakes reach the task. One that came just
                // before is seen here (both sides use SeqCst).
                task.forward.store(true, Ordering::SeqCst);
                if woken() {
                    if spins < MAX_SPINS {
                        task.forward.store(false, Ordering::SeqCst);
                        spins += 1;
                        continue;
                    }
                    // Given up on for now: the task comes back to it.
                    cx.waker().wake_by_ref();
                }
                return Poll::Pending;
            }
        })
        .await
    }
}

/// How many times in a row one poll of the run goes on before it yields to the runtime (a
/// future that wakes itself forever must not hold the worker).
const MAX_SPINS: usize = 10_000;

/// The task that drives a run, and whether wakes reach it (only once the run has returned).
struct Task {
    forward: AtomicBool,
    waker: AtomicWaker,
}

/// A waker of the run (the execution's, or the loads'): remembers being woken, and wakes the
/// task once it is to be forwarded.
struct WokenFlag {
    woken: AtomicBool,
    task: Arc<Task>,
}

impl Wake for WokenFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if self.task.forward.load(Ordering::SeqCst) {
            self.task.waker.wake();
        }
    }
}

/// A load whose batch was dropped before it answered (the request was cancelled, or the load
/// was asked for outside [`Batcher::run`]).
#[derive(Debug, Clone, Copy)]
pub struct BatchDropped;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Squares {
        calls: AtomicUsize,
        sizes: Mutex<Vec<usize>>,
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Error {
        Dropped,
        Refused,
    }

    impl From<BatchDropped> for Error {
        fn from(_: BatchDropped) -> Self {
            Self::Dropped
        }
    }

    /// The key whose batch the loader refuses.
    const REFUSED: u64 = 999_999;

    impl Loader<u64> for Squares {
        type Value = u64;
        type Error = Error;

        async fn load(&self, keys: &[u64]) -> Result<Map<u64, u64>, Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut sizes) = self.sizes.lock() {
                sizes.push(keys.len());
            }
            // Answers after a real wait, as a database does.
            tokio::task::yield_now().await;
            if keys.contains(&REFUSED) {
                return Err(Error::Refused);
            }
            Ok(keys
                .iter()
                .filter(|k| **k != 7)
                .map(|k| (*k, k * k))
                .collect())
        }
    }

    fn batcher() -> Batcher<Squares> {
        Batcher::new(
            Squares {
                calls: AtomicUsize::new(0),
                sizes: Mutex::new(Vec::new()),
            },
            Duration::ZERO,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_asked_for_in_one_step_load_in_one_batch() {
        let b = batcher();
        let work = async {
            // 2,500 concurrent loads (with repeats), then a second level that depends on them.
            let first = futures_util::future::join_all((0..2_500_u64).map(|i| {
                let b = b.clone();
                async move { b.load_one(i % 2_000).await }
            }))
            .await;
            let second = futures_util::future::join_all((0..3_u64).map(|i| {
                let b = b.clone();
                async move { b.load_one(10_000 + i).await }
            }))
            .await;
            (first, second)
        };
        let (first, second) = b.run(work).await;
        assert_eq!(first[3], Ok(Some(9)));
        assert_eq!(
            first[2_003],
            Ok(Some(9)),
            "a repeated key gets the same answer"
        );
        assert_eq!(first[7], Ok(None), "a key the loader does not find is None");
        assert_eq!(second[2], Ok(Some(10_002 * 10_002)));
        let sizes = b.loader.sizes.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(
            sizes,
            vec![1_000, 1_000, 3],
            "2,000 distinct keys in two calls of at most 1,000, then the second level"
        );
    }

    /// The shapes that split batches before: nested `FuturesUnordered` (async-graphql's lists
    /// of more than 30 items), which return early and wake themselves, and a poll that has
    /// used up tokio's cooperative budget.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nested_lists_and_a_spent_budget_do_not_split_a_batch() {
        let b = batcher();
        let work = async {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            for i in 0..300 {
                let _ = tx.send(i);
            }
            let mut received = 0;
            while received < 300 {
                if rx.recv().await.is_some() {
                    received += 1;
                }
            }
            futures_util::future::try_join_all((0..50_u64).map(|item| {
                let b = b.clone();
                async move {
                    futures_util::future::try_join_all(
                        (0..40_u64).map(|field| b.load_one(item * 100 + field)),
                    )
                    .await
                }
            }))
            .await
        };
        let values = b.run(work).await.expect("loads");
        assert_eq!(values[49][39], Some(4_939 * 4_939));
        let sizes = b.loader.sizes.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(sizes, vec![1_000, 1_000], "2,000 keys of one step");
    }

    /// A loader that needs many polls to answer (a statement whose rows arrive in many reads).
    struct Slow;

    impl Loader<u64> for Slow {
        type Value = u64;
        type Error = Error;

        async fn load(&self, keys: &[u64]) -> Result<Map<u64, u64>, Error> {
            for _ in 0..100 {
                tokio::task::yield_now().await;
            }
            Ok(keys.iter().map(|k| (*k, k + 1)).collect())
        }
    }

    /// The execution is polled again when a load it waits for answers, not each time a load
    /// makes progress: a page has a thousand resolvers waiting, and a statement's rows arrive
    /// in many reads.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_execution_is_not_polled_while_only_its_loads_progress() {
        let b = Batcher::new(Slow, Duration::ZERO);
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&polls);
        // In a task of its own, as a request runs: a loader's `yield_now` then wakes the task
        // after the run has returned, and the run is polled again with only the loads woken.
        let answers = tokio::spawn(async move {
            let mut levels = pin!(async { (b.load_one(1).await, b.load_one(2).await) });
            let work = poll_fn(|cx| {
                counted.fetch_add(1, Ordering::SeqCst);
                levels.as_mut().poll(cx)
            });
            b.run(work).await
        })
        .await
        .expect("task");
        assert_eq!(answers, (Ok(Some(2)), Ok(Some(3))));
        // Once to ask for the first key, once when it answers (asking for the second), once
        // when that answers; each load took 100 polls.
        assert_eq!(polls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_load_outside_a_run_fails_instead_of_waiting() {
        let b = batcher();
        assert_eq!(b.load_one(3).await, Err(Error::Dropped));
        // A run that is cancelled (a request timeout) leaves no load waiting either.
        let cancelled = tokio::time::timeout(
            std::time::Duration::from_millis(10),
            b.run(async {
                let _ = b.load_one(4).await;
                std::future::pending::<()>().await;
            }),
        )
        .await;
        assert!(cancelled.is_err());
        assert_eq!(b.load_one(5).await, Err(Error::Dropped));
        assert_eq!(b.run(b.load_one(6)).await, Ok(Some(36)));
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_loads() {
        let b = batcher();
        let (a, c) = b
            .run(async { futures_util::join!(b.load_one(12), b.load_one(REFUSED)) })
            .await;
        assert_eq!(a, Err(Error::Refused));
        assert_eq!(c, Err(Error::Refused));
        // The batcher goes on: the next step is a new batch.
        assert_eq!(b.run(b.load_one(4)).await, Ok(Some(16)));
        assert_eq!(b.loader.calls.load(Ordering::SeqCst), 2);
    }
}
