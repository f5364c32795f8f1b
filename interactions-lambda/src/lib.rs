//! TimmyBot's interactions endpoint on AWS: the edge's Router, wired to DynamoDB, SQS FIFO
//! and ECS ([`startup`]), served by Lambda or by `--listen` (`main.rs`).

pub mod startup;
