//! An in-memory in-app message queue (the runner's default) with its dead letters.

use crate::app::playbooks::inapp::InAppDeadLetters;
use crate::app::ports::email::{InAppMessage, InAppQueue};
use crate::app::ports::queue::QueueError;
use async_trait::async_trait;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryInAppQueue {
    messages: Mutex<Vec<InAppMessage>>,
    dead: Mutex<Vec<(InAppMessage, String)>>,
}

impl MemoryInAppQueue {
    /// Takes the messages queued so far.
    pub fn drain(&self) -> Vec<InAppMessage> {
        std::mem::take(&mut *self.messages.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Dead-lettered messages with their reasons.
    pub fn dead_letters(&self) -> Vec<(InAppMessage, String)> {
        self.dead.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl InAppQueue for MemoryInAppQueue {
    async fn enqueue_inapp(&self, message: &InAppMessage) -> Result<(), QueueError> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner()).push(message.clone());
        Ok(())
    }
}

#[async_trait]
impl InAppDeadLetters for MemoryInAppQueue {
    async fn dead_letter_inapp(&self, message: &InAppMessage, reason: &str) -> Result<(), QueueError> {
        self.dead.lock().unwrap_or_else(|e| e.into_inner()).push((message.clone(), reason.to_owned()));
        Ok(())
    }
}
