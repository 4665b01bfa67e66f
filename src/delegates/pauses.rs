//! The waits between looks at something that usually happens at once but may take seconds: a
//! unit starting or stopping, a process group ending after its signal.

use std::time::Duration;

/// Pauses that start short and double up to a longest one: a change that takes milliseconds
/// is seen milliseconds after it happens (an update that replaces an instance waits for its
/// stop), and a slow one is not looked at hundreds of times.
#[derive(Clone, Debug)]
pub struct Pauses {
    next: Duration,
    longest: Duration,
}

impl Pauses {
    /// Pauses of `first`, then twice as long each time, up to `longest`.
    pub fn new(first: Duration, longest: Duration) -> Self {
        Pauses {
            next: first,
            longest,
        }
    }

    /// Waits for the next pause.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.longest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_double_up_to_the_longest() {
        let mut pauses = Pauses::new(Duration::from_millis(2), Duration::from_millis(20));
        let mut waited = Vec::new();
        for _ in 0..6 {
            let began = tokio::time::Instant::now();
            pauses.wait().await;
            waited.push(began.elapsed().as_millis());
        }
        assert_eq!(waited, [2, 4, 8, 16, 20, 20]);
    }
}
