//! What a worker does with an order it takes: pure, so every case is a unit test.

use std::time::Duration;

use coffee_events::menu;

/// The worker's decision for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Already finished (a redelivery): nothing to brew, nothing to announce.
    Skip,
    /// Cancelled before brewing started.
    Cancel,
    /// Brew for this long, then complete.
    Brew(Duration),
    /// Cannot be brewed: dead-letter it and mark it failed.
    Fail(FailReason),
}

/// Why an order failed, as written to the dead-letter header and the status event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The coffee is not on the menu this consumer knows.
    UnknownCoffee,
    /// Its outcome could not be written to Kafka within the allowed attempts.
    RetriesExhausted,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::UnknownCoffee => "unknown_coffee_type",
            FailReason::RetriesExhausted => "retries_exhausted",
        }
    }
}

/// What is known about an order when a worker takes it.
#[derive(Debug, Clone, Copy)]
pub struct Taken<'a> {
    pub coffee_type: &'a str,
    pub cancelled: bool,
    /// Earlier attempts failed to write the outcome; this is a retry of our own work.
    pub failed_attempts: u32,
    /// The order is known to be finished (by us or a previous owner of the partition).
    pub already_finished: bool,
}

/// Decides, given the time one brew unit lasts and the attempts allowed.
pub fn plan(taken: Taken<'_>, brew_unit: Duration, max_attempts: u32) -> Plan {
    if taken.failed_attempts >= max_attempts {
        return Plan::Fail(FailReason::RetriesExhausted);
    }
    if taken.already_finished && taken.failed_attempts == 0 {
        return Plan::Skip;
    }
    if taken.cancelled {
        return Plan::Cancel;
    }
    match menu::find(taken.coffee_type) {
        Some(item) => Plan::Brew(brew_unit * item.brew_units),
        None => Plan::Fail(FailReason::UnknownCoffee),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Duration = Duration::from_millis(1);

    fn taken(coffee_type: &str) -> Taken<'_> {
        Taken {
            coffee_type,
            cancelled: false,
            failed_attempts: 0,
            already_finished: false,
        }
    }

    #[test]
    fn a_menu_coffee_brews_for_its_units() {
        assert_eq!(
            plan(taken("Cappuccino"), UNIT, 3),
            Plan::Brew(Duration::from_millis(90))
        );
        assert_eq!(
            plan(taken("espresso"), UNIT, 3),
            Plan::Brew(Duration::from_millis(30))
        );
    }

    #[test]
    fn brew_scale_zero_brews_instantly() {
        assert_eq!(
            plan(taken("Latte"), Duration::ZERO, 3),
            Plan::Brew(Duration::ZERO)
        );
    }

    #[test]
    fn a_cancelled_order_is_not_brewed() {
        let order = Taken {
            cancelled: true,
            ..taken("Latte")
        };
        assert_eq!(plan(order, UNIT, 3), Plan::Cancel);
    }

    #[test]
    fn a_redelivered_finished_order_is_skipped() {
        let order = Taken {
            already_finished: true,
            ..taken("Latte")
        };
        assert_eq!(plan(order, UNIT, 3), Plan::Skip);
    }

    #[test]
    fn a_retry_of_our_own_outcome_is_not_mistaken_for_a_redelivery() {
        let order = Taken {
            already_finished: true,
            failed_attempts: 1,
            ..taken("Latte")
        };
        assert_eq!(plan(order, UNIT, 3), Plan::Brew(Duration::from_millis(60)));
    }

    #[test]
    fn a_retried_cancellation_stays_a_cancellation() {
        let order = Taken {
            cancelled: true,
            failed_attempts: 2,
            ..taken("Latte")
        };
        assert_eq!(plan(order, UNIT, 3), Plan::Cancel);
    }

    #[test]
    fn an_unknown_coffee_fails() {
        assert_eq!(
            plan(taken("Tea"), UNIT, 3),
            Plan::Fail(FailReason::UnknownCoffee)
        );
    }

    #[test]
    fn exhausted_attempts_fail_the_order() {
        let order = Taken {
            failed_attempts: 3,
            ..taken("Latte")
        };
        assert_eq!(
            plan(order, UNIT, 3),
            Plan::Fail(FailReason::RetriesExhausted)
        );
    }
}
