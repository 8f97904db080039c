//! The deterministic random numbers the bundle tests mutate inputs with
//! (fastrand's seeded generator: the same mutations on every run).

pub struct Rng(fastrand::Rng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n.max(1))
    }

    #[allow(dead_code)] // hostile.rs uses it, fuzz_targets.rs does not
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = vec![0; n];
        self.0.fill(&mut out);
        out
    }
}
