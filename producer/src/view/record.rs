//! How the view stores one order. A full view holds 100,000 of them by default, so the record is
//! kept small and, for the usual order, free of allocations of its own: small allocations that
//! live as long as the view pin the allocator's pages among the short-lived ones of request
//! handling, and cost far more memory than their size.

use coffee_events::menu::MENU;
use coffee_events::order::OrderDetails;
use coffee_events::status::OrderStatus;
use compact_str::CompactString;
use jiff::Timestamp;
use uuid::Uuid;

use super::Order;

/// One order in 72 bytes: the customer's name inline up to 24 bytes, times as nanoseconds
/// since 1970, the coffee as its place on the menu, and whatever few orders have (a reason, an
/// idempotency key, a coffee not on the menu) behind one optional pointer.
#[derive(Debug)]
pub(super) struct Record {
    pub id: Uuid,
    customer_name: CompactString,
    created_at: Nanos,
    updated_at: Nanos,
    rare: Option<Box<Rare>>,
    coffee: Coffee,
    pub status: OrderStatus,
    /// A cancel was requested and the consumer has not decided yet.
    pub cancel_requested: bool,
    /// The order's creation event was applied, not only statuses: only the creation carries
    /// the `Idempotency-Key`.
    pub creation_applied: bool,
}

/// A time to the nanosecond between the years 1677 and 2262 (clamped outside them):
/// half the size of a [`Timestamp`], and orders are timed by their services' clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Nanos(i64);

impl From<Timestamp> for Nanos {
    fn from(at: Timestamp) -> Self {
        let nanos = at.as_nanosecond();
        Nanos(i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX }))
    }
}

impl From<Nanos> for Timestamp {
    fn from(at: Nanos) -> Self {
        // Every i64 of nanoseconds lies within Timestamp's range.
        Timestamp::from_nanosecond(i128::from(at.0)).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// What most orders lack.
#[derive(Debug, Default)]
struct Rare {
    off_menu_coffee: Option<Box<str>>,
    reason: Option<Box<str>>,
    idempotency_key: Option<Box<str>>,
}

/// A coffee by its index in the menu, or `OFF_MENU` when its name is kept in `Rare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Coffee(u8);

const OFF_MENU: Coffee = Coffee(u8::MAX);

impl Coffee {
    /// Only an exact menu name is stored by index, so every name reads back as it was written.
    fn of(name: &str) -> Coffee {
        MENU.iter()
            .position(|item| item.name == name)
            .and_then(|index| u8::try_from(index).ok())
            .filter(|&index| Coffee(index) != OFF_MENU)
            .map_or(OFF_MENU, Coffee)
    }

    fn menu_name(self) -> Option<&'static str> {
        MENU.get(usize::from(self.0)).map(|item| item.name)
    }
}

impl Record {
    pub fn new(id: Uuid, details: &OrderDetails, status: OrderStatus, at: Timestamp) -> Self {
        let coffee = Coffee::of(&details.coffee_type);
        let mut record = Self {
            id,
            customer_name: CompactString::from(details.customer_name.as_str()),
            created_at: details.created_at.into(),
            updated_at: at.into(),
            rare: None,
            coffee,
            status,
            cancel_requested: false,
            creation_applied: false,
        };
        if coffee == OFF_MENU {
            record.rare_mut().off_menu_coffee = Some(details.coffee_type.as_str().into());
        }
        record
    }

    /// A record that owns nothing, to be overwritten: room made in the view before a merge.
    pub fn vacant() -> Self {
        Self {
            id: Uuid::nil(),
            customer_name: CompactString::const_new(""),
            created_at: Nanos(0),
            updated_at: Nanos(0),
            rare: None,
            coffee: OFF_MENU,
            status: OrderStatus::Pending,
            cancel_requested: false,
            creation_applied: false,
        }
    }

    pub fn created_at(&self) -> Timestamp {
        self.created_at.into()
    }

    /// Moves the last change to `at` unless a later one is known.
    pub fn touch(&mut self, at: Timestamp) {
        self.updated_at = self.updated_at.max(at.into());
    }

    pub fn customer_name(&self) -> &str {
        &self.customer_name
    }

    pub fn coffee_type(&self) -> &str {
        self.coffee
            .menu_name()
            .or_else(|| self.rare.as_ref()?.off_menu_coffee.as_deref())
            .unwrap_or_default()
    }

    pub fn idempotency_key(&self) -> Option<&str> {
        self.rare.as_ref()?.idempotency_key.as_deref()
    }

    pub fn set_idempotency_key(&mut self, key: &str) {
        self.rare_mut().idempotency_key = Some(key.into());
    }

    pub fn set_reason(&mut self, reason: Option<&str>) {
        match reason {
            Some(reason) => self.rare_mut().reason = Some(reason.into()),
            None => {
                if let Some(rare) = self.rare.as_mut() {
                    rare.reason = None;
                }
            }
        }
    }

    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The order as the API shows it.
    pub fn to_order(&self) -> Order {
        Order {
            id: self.id,
            customer_name: self.customer_name().into(),
            coffee_type: self.coffee_type().into(),
            status: self.status,
            cancel_requested: self.cancel_requested,
            reason: self.rare.as_ref().and_then(|rare| rare.reason.clone()),
            created_at: self.created_at.into(),
            updated_at: self.updated_at.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(customer_name: &str, coffee_type: &str) -> OrderDetails {
        OrderDetails {
            customer_name: customer_name.into(),
            coffee_type: coffee_type.into(),
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn record(customer_name: &str, coffee_type: &str) -> Record {
        Record::new(
            Uuid::nil(),
            &details(customer_name, coffee_type),
            OrderStatus::Pending,
            Timestamp::UNIX_EPOCH,
        )
    }

    #[test]
    fn a_record_takes_at_most_72_bytes() {
        assert!(size_of::<Record>() <= 72, "{} bytes", size_of::<Record>());
    }

    #[test]
    fn times_read_back_to_the_nanosecond() {
        let at = Timestamp::new(1_764_000_000, 123_456_789).unwrap();
        let mut record = record("Ada", "Latte");
        record.touch(at);
        assert_eq!(record.to_order().updated_at, at);
    }

    #[test]
    fn times_beyond_2262_are_clamped() {
        let far = Timestamp::new(20_000_000_000, 0).unwrap();
        assert_eq!(
            Timestamp::from(Nanos::from(far)),
            Timestamp::from_nanosecond(i128::from(i64::MAX)).unwrap()
        );
    }

    #[test]
    fn a_usual_order_has_no_allocation_of_its_own() {
        let record = record("Ada Lovelace", "Cappuccino");
        assert!(!record.customer_name.is_heap_allocated());
        assert!(record.rare.is_none());
    }

    #[test]
    fn a_menu_coffee_reads_back_by_its_menu_name() {
        for item in MENU {
            assert_eq!(record("Ada", item.name).coffee_type(), item.name);
        }
    }

    #[test]
    fn a_coffee_off_the_menu_reads_back_as_written() {
        assert_eq!(record("Ada", "latte").coffee_type(), "latte");
        assert_eq!(record("Ada", "Tea").coffee_type(), "Tea");
    }

    #[test]
    fn a_long_name_reads_back_as_written() {
        let name = "Ada Augusta King, Countess of Lovelace, née Byron";
        assert_eq!(record(name, "Latte").customer_name(), name);
    }

    #[test]
    fn a_reason_can_be_set_and_cleared() {
        let mut record = record("Ada", "Latte");
        record.set_reason(Some("out of milk"));
        assert_eq!(record.to_order().reason.as_deref(), Some("out of milk"));
        record.set_reason(None);
        assert_eq!(record.to_order().reason, None);
    }

    #[test]
    fn an_idempotency_key_is_kept_beside_an_off_menu_coffee() {
        let mut record = record("Ada", "Tea");
        record.set_idempotency_key("k-1");
        assert_eq!(
            (record.idempotency_key(), record.coffee_type()),
            (Some("k-1"), "Tea")
        );
    }
}
