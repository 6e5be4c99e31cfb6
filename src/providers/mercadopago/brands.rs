//! Card numbers: BIN → payment method / issuer from `brands.yaml`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(default)]
pub struct Issuer {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SecurityCode {
    pub length: u32,
    pub card_location: String,
}

impl Default for SecurityCode {
    fn default() -> Self {
        SecurityCode {
            length: 3,
            card_location: "back".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Method {
    pub id: String,
    pub name: String,
    pub payment_type_id: String,
    pub issuer: Issuer,
    #[serde(default)]
    pub security_code: SecurityCode,
}

#[derive(Debug, Deserialize)]
struct Prefix {
    #[serde(alias = "bin")]
    prefix: String,
    method: String,
}

#[derive(Debug, Deserialize)]
struct Data {
    payment_methods: Vec<Method>,
    test_cards: Vec<Prefix>,
    networks: Vec<Prefix>,
}

pub struct Brands {
    data: Data,
}

impl Brands {
    /// Parses the embedded table; a unit test parses it too, so a failure is a build defect.
    pub fn load() -> Self {
        Brands {
            data: serde_yaml_ng::from_str(include_str!("brands.yaml"))
                .expect("embedded brands.yaml parses"),
        }
    }

    pub fn method(&self, id: &str) -> Option<&Method> {
        self.data.payment_methods.iter().find(|m| m.id == id)
    }

    /// An issuer the table knows, by id.
    pub fn issuer(&self, id: i64) -> Option<&Issuer> {
        self.data
            .payment_methods
            .iter()
            .map(|m| &m.issuer)
            .find(|i| i.id == id)
    }

    /// The payment method of a published test card, by its BIN: known for certain, where
    /// [`Brands::by_bin`]'s network prefixes are a guess (an Elo card may start with 4).
    pub fn by_test_bin(&self, digits: &str) -> Option<&Method> {
        let bin = digits.get(..6)?;
        let card = self.data.test_cards.iter().find(|p| p.prefix == bin)?;
        self.method(&card.method)
    }

    /// The payment method of a card from its first digits: a published test card's BIN
    /// first, else the longest network prefix.
    pub fn by_bin(&self, digits: &str) -> Option<&Method> {
        let bin = digits.get(..6)?;
        let id = self
            .data
            .test_cards
            .iter()
            .find(|p| p.prefix == bin)
            .or_else(|| {
                self.data
                    .networks
                    .iter()
                    .filter(|p| digits.starts_with(&p.prefix))
                    .max_by_key(|p| p.prefix.len())
            })?;
        self.method(&id.method)
    }
}

pub fn thumbnail(id: &str) -> String {
    format!("http://img.mlstatic.com/org-img/MP3/API/logos/{id}.gif")
}

pub fn secure_thumbnail(id: &str) -> String {
    format!("https://www.mercadopago.com/org-img/MP3/API/logos/{id}.gif")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_published_test_card_passes_luhn_and_has_a_brand() {
        let brands = Brands::load();
        for (number, brand) in [
            ("5031433215406351", "master"),
            ("4235647728025682", "visa"),
            ("375365153556885", "amex"),
            ("5067766783888311", "debelo"),
            ("5031755734530604", "master"),
            ("4509953566233704", "visa"),
            ("371180303257522", "amex"),
            ("5287338310253304", "debmaster"),
            ("4002768694395619", "debvisa"),
            ("5474925432670366", "master"),
            ("4075595716483764", "visa"),
        ] {
            assert!(crate::card::luhn(number), "{number}");
            assert_eq!(brands.by_bin(number).map(|m| m.id.as_str()), Some(brand));
        }
    }

    #[test]
    fn other_numbers_fall_back_to_their_network() {
        let brands = Brands::load();
        assert_eq!(
            brands.by_bin("4111111111111111").map(|m| m.id.as_str()),
            Some("visa")
        );
        assert_eq!(
            brands.by_bin("5555555555554444").map(|m| m.id.as_str()),
            Some("master")
        );
        assert_eq!(
            brands.by_bin("6362970000457013").map(|m| m.id.as_str()),
            Some("elo")
        );
        assert_eq!(
            brands.by_bin("9999999999999995").map(|m| m.id.as_str()),
            None
        );
        let amex = brands.method("amex").expect("amex");
        assert_eq!(
            amex.security_code,
            SecurityCode {
                length: 4,
                card_location: "front".into()
            }
        );
    }
}
