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
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::UnknownCoffee => "unknown_coffee_type",
        }
    }
}

/// What is known about an order when a worker takes it.
#[derive(Debug, Clone, Copy)]
pub struct Taken<'a> {
    pub coffee_type: &'a str,
    pub cancelled: bool,
    /// The order is known to be finished (by us or a previous owner of the partition).
    pub already_finished: bool,
}

/// Decides, given the time one brew unit lasts. (An outcome Kafka did not take is written
/// again by the outbox; the order never comes back here for it.)
pub fn plan(taken: Taken<'_>, brew_unit: Duration) -> Plan {
    if taken.already_finished {
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
            already_finished: false,
        }
    }

    #[test]
    fn a_menu_coffee_brews_for_its_units() {
        assert_eq!(
            plan(taken("Cappuccino"), UNIT),
            Plan::Brew(Duration::from_millis(90))
        );
        assert_eq!(
            plan(taken("espresso"), UNIT),
            Plan::Brew(Duration::from_millis(30))
        );
    }

    #[test]
    fn brew_scale_zero_brews_instantly() {
        assert_eq!(
            plan(taken("Latte"), Duration::ZERO),
            Plan::Brew(Duration::ZERO)
        );
    }

    #[test]
    fn a_cancelled_order_is_not_brewed() {
        let order = Taken {
            cancelled: true,
            ..taken("Latte")
        };
        assert_eq!(plan(order, UNIT), Plan::Cancel);
    }

    #[test]
    fn a_redelivered_finished_order_is_skipped() {
        let order = Taken {
            already_finished: true,
            ..taken("Latte")
        };
        assert_eq!(plan(order, UNIT), Plan::Skip);
    }

    #[test]
    fn an_unknown_coffee_fails() {
        assert_eq!(
            plan(taken("Tea"), UNIT),
            Plan::Fail(FailReason::UnknownCoffee)
        );
    }
}
