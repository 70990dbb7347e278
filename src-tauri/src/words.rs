//! What the app says outside its window, in the user's language: the OS
//! notification of a raised alert and the tray menu. (Inside the window
//! the UI words everything from its own catalogue.)

use licensedesk_client::Alert;
use licensedesk_core::alert::AlertKind;
use serde_json::Value;

use crate::settings::Language;

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

/// `2026-04-29T10:00:00.000000Z` → `2026-04-29`.
fn day(v: Option<&Value>) -> String {
    text(v).chars().take(10).collect()
}

/// The notification of a raised alert: (title, body).
pub fn notification(lang: Language, a: &Alert) -> (String, String) {
    let p = |k: &str| text(a.params.get(k));
    let zh = lang == Language::ZhCn;
    match a.kind {
        AlertKind::LowRemaining => {
            let (product, left, total, pct) =
                (p("product"), p("remaining"), p("total"), p("percent"));
            if zh {
                (
                    format!("{product}：激活码仅剩 {pct}%"),
                    format!(
                        "剩余 {left} / 总数 {total}（{}）。请购买激活码，或分配未分配的激活码。",
                        p("profile")
                    ),
                )
            } else {
                (
                    format!("{product}: {pct} % of codes left"),
                    format!(
                        "{left} of {total} remaining ({}). Buy codes, or assign unassigned ones.",
                        p("profile")
                    ),
                )
            }
        }
        AlertKind::RunsOutSoon => {
            let (product, days, at) = (p("product"), p("days"), day(a.params.get("runs_out_at")));
            if zh {
                (
                    format!("{product}：激活码约 {days} 天后用完"),
                    format!(
                        "按近期的消耗速度，剩余 {} 个激活码将于 {at} 前后用完。请及时购买。",
                        p("remaining")
                    ),
                )
            } else {
                (
                    format!("{product}: codes run out in about {days} days"),
                    format!(
                        "At the recent rate the {} codes left run out around {at}. Buy codes in time.",
                        p("remaining")
                    ),
                )
            }
        }
        AlertKind::OfflineAtRenewal => {
            let (product, n, days) = (p("product"), p("devices"), p("days"));
            if zh {
                (
                    format!("{product}：{n} 台设备将在续期时离线"),
                    format!(
                        "{days} 天内到期的设备中，有 {n} 台没有可用的激活码续期。请分配或购买激活码。"
                    ),
                )
            } else {
                (
                    format!("{product}: {n} devices go offline at renewal"),
                    format!(
                        "{n} devices whose codes expire within {days} days have no code to renew from. Assign or buy codes."
                    ),
                )
            }
        }
        AlertKind::GatewayExpiring => {
            let (g, at, days) = (p("gateway"), day(a.params.get("expire_at")), p("days"));
            let expired = a.params.get("expired") == Some(&Value::Bool(true));
            match (zh, expired) {
                (true, true) => (
                    format!("网关 {g} 的许可证已过期"),
                    format!("许可证已于 {at} 过期，网关已回退到试用许可证。请续期。"),
                ),
                (true, false) => (
                    format!("网关 {g} 的许可证 {days} 天后过期"),
                    format!("许可证将于 {at} 过期。请续期。"),
                ),
                (false, true) => (
                    format!("Gateway {g}: license expired"),
                    format!(
                        "The license expired on {at}; the gateway runs under the trial. Renew it."
                    ),
                ),
                (false, false) => (
                    format!("Gateway {g}: license expires in {days} days"),
                    format!("The license expires on {at}. Renew it."),
                ),
            }
        }
        AlertKind::GatewayOverLimit => {
            let g = p("gateway");
            let usage = format!(
                "{} / {}, {} / {}",
                p("connections_in_use"),
                p("connections_max"),
                p("tags_in_use"),
                p("tags_max")
            );
            if zh {
                (
                    format!("网关 {g} 超出许可证限制"),
                    format!("连接 / 数据标签使用量：{usage}。请安装更高限制的许可证。"),
                )
            } else {
                (
                    format!("Gateway {g}: over its license limits"),
                    format!(
                        "Connections / data tags in use: {usage}. Install a license with higher limits."
                    ),
                )
            }
        }
        AlertKind::LeaseLapsing => {
            let (g, m) = (p("gateway"), p("minutes"));
            if zh {
                (
                    format!("网关 {g} 的浮动许可证即将失效"),
                    format!("租约约 {m} 分钟后失效。请检查网关与管理平台的连接。"),
                )
            } else {
                (
                    format!("Gateway {g}: floating lease lapses soon"),
                    format!(
                        "The lease lapses in about {m} minutes. Check the gateway's connection to its management platform."
                    ),
                )
            }
        }
        AlertKind::NotSynced => {
            let profile = p("profile");
            let minutes = p("minutes");
            if zh {
                (
                    format!("{profile} 已超过 {minutes} 分钟未同步"),
                    "显示的数据可能已过时。请检查网络和服务器，然后同步。".to_owned(),
                )
            } else {
                (format!("{profile} has not synced for over {minutes} minutes"), "The data shown may be out of date. Check the network and the server, then sync.".to_owned())
            }
        }
    }
}

/// The native file dialogs the app opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialog {
    UploadLicense,
    AddGateways,
    IssueLicenses,
    ExportRequest,
    ImportResponse,
    ExportLicenses,
    AnswerRequests,
    ImportUsage,
    ImportKeySet,
    ExportLicense,
    ExportLedger,
}

/// A dialog's title and the name of its file filter (`""` for a save
/// dialog), and the name of the "all files" filter.
pub fn dialog(lang: Language, d: Dialog) -> (&'static str, &'static str, &'static str) {
    let zh = lang == Language::ZhCn;
    let all = if zh { "所有文件" } else { "All files" };
    let (title, filter) = match (d, zh) {
        (Dialog::UploadLicense, false) => ("Upload License", "License files"),
        (Dialog::UploadLicense, true) => ("上传许可证", "许可证文件"),
        (Dialog::AddGateways, false) => ("Add gateways from a request file", "Activation requests"),
        (Dialog::AddGateways, true) => ("从请求文件添加网关", "激活请求"),
        (Dialog::IssueLicenses, false) => {
            ("Issue licenses from a request file", "Activation requests")
        }
        (Dialog::IssueLicenses, true) => ("从请求文件签发许可证", "激活请求"),
        (Dialog::ExportRequest, false) => ("Export activation request", ""),
        (Dialog::ExportRequest, true) => ("导出激活请求", ""),
        (Dialog::ImportResponse, false) => ("Import activation response", "Activation responses"),
        (Dialog::ImportResponse, true) => ("导入激活响应", "激活响应"),
        (Dialog::ExportLicenses, false) => ("Export License Management", ""),
        (Dialog::ExportLicenses, true) => ("导出激活码管理", ""),
        (Dialog::AnswerRequests, false) => ("Answer activation requests", "Activation requests"),
        (Dialog::AnswerRequests, true) => ("应答激活请求", "激活请求"),
        (Dialog::ImportUsage, false) => ("Import gateway usage", "Usage files"),
        (Dialog::ImportUsage, true) => ("导入网关用量", "用量文件"),
        (Dialog::ImportKeySet, false) => ("Import key set", "Key sets"),
        (Dialog::ImportKeySet, true) => ("导入公钥集", "公钥集"),
        (Dialog::ExportLicense, false) => ("Export license", ""),
        (Dialog::ExportLicense, true) => ("导出许可证", ""),
        (Dialog::ExportLedger, false) => ("Export ledger", ""),
        (Dialog::ExportLedger, true) => ("导出台账", ""),
    };
    (title, filter, all)
}

/// The tray menu's words.
pub struct TrayWords {
    pub open: &'static str,
    pub sync_all: &'static str,
    pub no_alerts: &'static str,
    pub quit: &'static str,
}

pub fn tray(lang: Language) -> TrayWords {
    match lang {
        Language::En => TrayWords {
            open: "Open LicenseDesk",
            sync_all: "Sync all accounts",
            no_alerts: "No alerts",
            quit: "Quit",
        },
        Language::ZhCn => TrayWords {
            open: "打开 LicenseDesk",
            sync_all: "同步所有账户",
            no_alerts: "没有告警",
            quit: "退出",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use licensedesk_core::alert::{AlertAction, AlertKind};
    use serde_json::json;

    fn alert(kind: AlertKind) -> Alert {
        Alert {
            scope: "p".into(),
            kind,
            subject: "x".into(),
            raised: true,
            raised_at: "2026-04-01T00:00:00.000000Z".into(),
            cleared_at: None,
            params: json!({"product": "Smart Water Meter", "remaining": 300, "total": 1505, "percent": 19,
                "profile": "Demo", "days": 12, "runs_out_at": "2026-04-13T00:00:00.000000Z", "devices": 3,
                "gateway": "Line 3", "expire_at": "2026-04-13T00:00:00Z", "expired": false, "minutes": 9,
                "connections_in_use": 101, "connections_max": 100, "tags_in_use": 3, "tags_max": 500})
            .as_object()
            .cloned()
            .unwrap_or_default(),
            action: AlertAction::Sync,
            urgency: 0,
            times_raised: 1,
        }
    }

    /// Every kind has words in both languages, filled from its params, and
    /// the Chinese ones are Chinese (no English sentence left).
    #[test]
    fn every_kind_is_worded_in_both_languages() {
        for kind in AlertKind::ALL {
            let a = alert(kind);
            let (en_t, en_b) = notification(Language::En, &a);
            let (zh_t, zh_b) = notification(Language::ZhCn, &a);
            for s in [&en_t, &en_b, &zh_t, &zh_b] {
                assert!(!s.is_empty() && !s.contains('{'), "{kind:?}: {s}");
            }
            assert_ne!(en_t, zh_t);
            let ascii_words = |s: &str| {
                s.split(|c: char| !c.is_ascii_alphabetic())
                    .filter(|w| {
                        w.len() > 3
                            && !["Smart", "Water", "Meter", "Line", "Demo", "LicenseDesk"]
                                .contains(w)
                    })
                    .count()
            };
            assert_eq!(
                ascii_words(&zh_t) + ascii_words(&zh_b),
                0,
                "{kind:?}: {zh_t} / {zh_b}"
            );
        }
        let (t, _) = notification(Language::En, &alert(AlertKind::LowRemaining));
        assert_eq!(t, "Smart Water Meter: 19 % of codes left");
    }
}
