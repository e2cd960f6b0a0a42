//! The paper's "poly" schedule, stepped every iteration: lr = base · (1 − t/T)^0.9.
//! burn 0.22 has no polynomial scheduler, so this implements its `LrScheduler`.

use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use burn::optim::{LearningRate, RecordState, StateSink, StateSource};
use burn::prelude::Device;
use burn_pack::Scalar;

#[derive(Debug, Clone)]
pub struct PolyLr {
    pub base: f64,
    pub power: f64,
    pub total: usize,
    pub iteration: usize,
}

#[derive(Clone, Debug)]
pub struct PolyLrState {
    iteration: usize,
}

impl RecordState for PolyLrState {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "iteration", Scalar::UInt(self.iteration as u64));
    }
    fn state_unflatten(prefix: &str, src: &mut StateSource, _: &Device) -> Option<Self> {
        match src.take_scalar(prefix, "iteration")? {
            Scalar::UInt(i) => Some(Self {
                iteration: i as usize,
            }),
            _ => None,
        }
    }
}

impl PolyLr {
    pub fn new(base: f64, total: usize) -> Self {
        Self {
            base,
            power: 0.9,
            total: total.max(1),
            iteration: 0,
        }
    }
}

impl LrScheduler for PolyLr {
    fn step(&mut self) -> LearningRate {
        let t = self.iteration.min(self.total) as f64 / self.total as f64;
        self.iteration += 1;
        self.base * (1.0 - t).powf(self.power)
    }
    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::from_state(&PolyLrState {
            iteration: self.iteration,
        })
    }
    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(s) = record.into_state::<PolyLrState>() {
            self.iteration = s.iteration;
        }
    }
}
