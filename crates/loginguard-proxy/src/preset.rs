//! Presets: the outcome rules of real apps' login views, by name.

use std::fmt;
use std::str::FromStr;

use loginguard_http::OutcomeRules;

/// A named set of outcome rules for a well-known login view.
///
/// | preset | failure | success | neutral |
/// | --- | --- | --- | --- |
/// | `django` | the form re-rendered (200), 401, 422 | a response setting `sessionid` (stock `LoginView`: 302) | 403 (CSRF failure), 400, 429, 5xx |
/// | `devise` | the form re-rendered (200 or 422), JSON 401 | 302 or 303 | 400, 429, 5xx |
/// | `wordpress` | `wp-login.php` re-rendered with `login_error` (200) | a response setting `wordpress_logged_in_*` (302) | 400, 429, 5xx |
/// | `axum-login` | 401, 403, 422, a redirect back to the login path (303) | any other 2xx/3xx | 400, 429, 5xx |
/// | `json` | 401, 403, 422, any 2xx other than 200/204 | 200, 204 | 400, 429, 5xx |
///
/// ```
/// use http::{header, HeaderMap, HeaderValue, StatusCode};
/// use loginguard_http::{LoginResponse, Outcome};
/// use loginguard_proxy::Preset;
///
/// let rules = "django".parse::<Preset>().unwrap().rules();
/// let mut headers = HeaderMap::new();
/// // A wrong password: Django re-renders the form.
/// let res = LoginResponse::new("/accounts/login/", StatusCode::OK, &headers);
/// assert_eq!(rules.decide(&res), Outcome::Failure);
/// // The right one: a redirect that sets the session cookie.
/// headers.insert(header::SET_COOKIE, HeaderValue::from_static("sessionid=abc; HttpOnly; Path=/"));
/// let res = LoginResponse::new("/accounts/login/", StatusCode::FOUND, &headers);
/// assert_eq!(rules.decide(&res), Outcome::Success);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// Django's `django.contrib.auth.views.LoginView`.
    Django,
    /// Rails' Devise `sessions#create`.
    Devise,
    /// WordPress's `wp-login.php`.
    Wordpress,
    /// axum-login's examples: 303 back to the login page on failure.
    AxumLogin,
    /// A JSON API: 401 on failure, 200 on success.
    Json,
}

impl Preset {
    /// Every preset, in the order of the table.
    pub const ALL: [Preset; 5] = [
        Preset::Django,
        Preset::Devise,
        Preset::Wordpress,
        Preset::AxumLogin,
        Preset::Json,
    ];

    /// The preset's name, as written in settings.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Django => "django",
            Preset::Devise => "devise",
            Preset::Wordpress => "wordpress",
            Preset::AxumLogin => "axum-login",
            Preset::Json => "json",
        }
    }

    /// The outcome rules of the preset, on top of the default rules.
    pub fn rules(self) -> OutcomeRules {
        self.rules_on(OutcomeRules::default())
    }

    /// The preset's rules on top of `base` (the policy's): what the preset
    /// sets replaces `base`'s, the rest (`failure_location`,
    /// `failure_body_text`, …) stays as configured.
    pub fn rules_on(self, base: OutcomeRules) -> OutcomeRules {
        match self {
            Preset::Django => base
                .failure_statuses(vec![401, 422])
                .neutral_statuses(vec![403])
                .success_cookie(Some("sessionid".to_owned())),
            Preset::Devise => base
                .failure_statuses(vec![401, 422])
                .success_statuses(vec![302, 303]),
            Preset::Wordpress => base.success_cookie(Some("wordpress_logged_in_*".to_owned())),
            Preset::AxumLogin => base,
            Preset::Json => base.success_statuses(vec![200, 204]),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A preset name that is not one of [`Preset::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown preset {0:?}: use one of django, devise, wordpress, axum-login, json")]
pub struct UnknownPreset(pub String);

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Preset, UnknownPreset> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| UnknownPreset(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use http::{header, HeaderMap, HeaderValue, StatusCode};
    use loginguard_http::{LoginResponse, Outcome};

    use super::*;

    fn decide(
        preset: Preset,
        status: u16,
        headers: &[(header::HeaderName, &'static str)],
    ) -> Outcome {
        let mut h = HeaderMap::new();
        for (name, value) in headers {
            h.append(name.clone(), HeaderValue::from_static(value));
        }
        let status = StatusCode::from_u16(status).unwrap();
        preset
            .rules()
            .decide(&LoginResponse::new("/login", status, &h))
    }

    #[test]
    fn django_csrf_failures_are_neutral_and_rerenders_fail() {
        assert_eq!(decide(Preset::Django, 403, &[]), Outcome::Neutral);
        assert_eq!(decide(Preset::Django, 200, &[]), Outcome::Failure);
        // A redirect without the session cookie is no login.
        assert_eq!(
            decide(Preset::Django, 302, &[(header::LOCATION, "/")]),
            Outcome::Failure
        );
        assert_eq!(
            decide(
                Preset::Django,
                302,
                &[
                    (header::LOCATION, "/accounts/profile/"),
                    (header::SET_COOKIE, "csrftoken=x; Path=/"),
                    (header::SET_COOKIE, "sessionid=y; HttpOnly; Path=/"),
                ]
            ),
            Outcome::Success
        );
    }

    #[test]
    fn devise_wordpress_axum_login_and_json() {
        assert_eq!(decide(Preset::Devise, 200, &[]), Outcome::Failure);
        assert_eq!(decide(Preset::Devise, 422, &[]), Outcome::Failure);
        assert_eq!(decide(Preset::Devise, 401, &[]), Outcome::Failure);
        assert_eq!(
            decide(Preset::Devise, 303, &[(header::LOCATION, "/")]),
            Outcome::Success
        );
        assert_eq!(decide(Preset::Wordpress, 200, &[]), Outcome::Failure);
        assert_eq!(
            decide(
                Preset::Wordpress,
                302,
                &[(header::SET_COOKIE, "wordpress_logged_in_0a1b=u; path=/")]
            ),
            Outcome::Success
        );
        assert_eq!(
            decide(
                Preset::AxumLogin,
                303,
                &[(header::LOCATION, "/login?next=/")]
            ),
            Outcome::Failure
        );
        assert_eq!(
            decide(Preset::AxumLogin, 303, &[(header::LOCATION, "/")]),
            Outcome::Success
        );
        assert_eq!(decide(Preset::Json, 401, &[]), Outcome::Failure);
        assert_eq!(decide(Preset::Json, 200, &[]), Outcome::Success);
        assert_eq!(decide(Preset::Json, 202, &[]), Outcome::Failure);
    }

    #[test]
    fn configured_rules_the_preset_does_not_set_still_apply() {
        let base = OutcomeRules::default().failure_location(Some("/?login=failed".into()));
        let rules = Preset::Devise.rules_on(base);
        let mut h = HeaderMap::new();
        h.insert(header::LOCATION, HeaderValue::from_static("/?login=failed"));
        let res = LoginResponse::new("/users/sign_in", StatusCode::FOUND, &h);
        assert_eq!(rules.decide(&res), Outcome::Failure);
        assert_eq!(Preset::Devise.rules().decide(&res), Outcome::Success);
    }

    #[test]
    fn names_parse_back_and_unknown_ones_are_refused() {
        for p in Preset::ALL {
            assert_eq!(p.name().parse::<Preset>(), Ok(p));
        }
        assert_eq!("AXUM_LOGIN".parse::<Preset>(), Ok(Preset::AxumLogin));
        let err = "rails".parse::<Preset>().unwrap_err();
        assert!(err.to_string().contains("django, devise"), "{err}");
    }
}
