//! Research options that are not part of the shipped recipe, each entered from the loop in one
//! place: weight averaging (`--ema`), pseudo-labels from a teacher on unlabeled slices
//! (`--pseudo-*`) and restoration pretraining (`pretrain`, then `train --init`). Their
//! ablations are in EXPERIMENTS.md with the command that reruns each.

pub mod ema;
pub mod pretrain;
pub mod pseudo;
