//! What can be ordered, and how long each coffee takes to prepare.

use std::time::Duration;

/// One drink on the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MenuItem {
    /// The canonical name, as stored in orders.
    pub name: &'static str,
    /// Preparation time in brew units (seconds in the original system).
    pub brew_units: u32,
}

/// The menu. The first four and their times come from the original system; the others take its
/// default time for anything else.
pub const MENU: &[MenuItem] = &[
    MenuItem {
        name: "Espresso",
        brew_units: 30,
    },
    MenuItem {
        name: "Americano",
        brew_units: 45,
    },
    MenuItem {
        name: "Latte",
        brew_units: 60,
    },
    MenuItem {
        name: "Cappuccino",
        brew_units: 90,
    },
    MenuItem {
        name: "Flat White",
        brew_units: 60,
    },
    MenuItem {
        name: "Mocha",
        brew_units: 60,
    },
    MenuItem {
        name: "Macchiato",
        brew_units: 60,
    },
];

/// Brew units for a coffee that is not (or no longer) on the menu.
pub const DEFAULT_BREW_UNITS: u32 = 60;

/// The menu item a customer asked for, ignoring case and surrounding space.
pub fn find(coffee_type: &str) -> Option<&'static MenuItem> {
    let wanted = coffee_type.trim();
    MENU.iter()
        .find(|item| item.name.eq_ignore_ascii_case(wanted))
}

/// How long `coffee_type` takes when one brew unit lasts `unit`.
pub fn brew_time(coffee_type: &str, unit: Duration) -> Duration {
    let units = find(coffee_type).map_or(DEFAULT_BREW_UNITS, |item| item.brew_units);
    unit * units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_surrounding_space() {
        assert_eq!(find("  cappuccino ").map(|i| i.name), Some("Cappuccino"));
    }

    #[test]
    fn unknown_coffee_is_not_on_the_menu() {
        assert!(find("Dandelion Latte").is_none());
    }

    #[test]
    fn brew_times_follow_the_original_system() {
        let second = Duration::from_secs(1);
        assert_eq!(brew_time("Espresso", second), Duration::from_secs(30));
        assert_eq!(brew_time("Americano", second), Duration::from_secs(45));
        assert_eq!(brew_time("Latte", second), Duration::from_secs(60));
        assert_eq!(brew_time("Cappuccino", second), Duration::from_secs(90));
        assert_eq!(
            brew_time("Dandelion Latte", second),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn brew_time_scales_with_the_unit() {
        assert_eq!(
            brew_time("Espresso", Duration::from_millis(2)),
            Duration::from_millis(60)
        );
        assert_eq!(brew_time("Espresso", Duration::ZERO), Duration::ZERO);
    }
}
