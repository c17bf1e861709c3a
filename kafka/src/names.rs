//! The names of a pipeline's topics and consumer group, all derived from its order topic: the
//! operator creates them by these names and wires them into the workloads; the consumer falls
//! back to them when run on its own. One derivation, so the two cannot drift apart.

/// A pipeline's topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicNames {
    pub orders: String,
    pub statuses: String,
    pub dead_letters: String,
    /// Where the operator sets the consumers' worker count live (`{"workers": N}` keyed by
    /// the group id).
    pub control: String,
}

impl TopicNames {
    /// The topics that go with the order topic `orders`.
    pub fn for_orders(orders: &str) -> Self {
        Self {
            orders: orders.to_owned(),
            statuses: format!("{orders}-status"),
            dead_letters: format!("{orders}-dead-letters"),
            control: format!("{orders}-control"),
        }
    }

    /// The consumer group of the pipeline's consumers.
    pub fn group(&self) -> String {
        format!("{}-processor", self.orders)
    }

    /// Every topic, the order topic first.
    pub fn all(&self) -> [&str; 4] {
        [
            &self.orders,
            &self.statuses,
            &self.dead_letters,
            &self.control,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_derives_from_the_order_topic() {
        let names = TopicNames::for_orders("espresso");
        assert_eq!(
            names.all(),
            [
                "espresso",
                "espresso-status",
                "espresso-dead-letters",
                "espresso-control"
            ]
        );
        assert_eq!(names.group(), "espresso-processor");
    }
}
