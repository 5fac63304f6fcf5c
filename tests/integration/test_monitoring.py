"""packaging/grafana-dashboard.json and packaging/prometheus-alerts.yml (issue 7): valid, cover
every metric family of spec/operations.md, and the alert rules pass promtool (syntax and unit
tests in packaging/prometheus-alerts.test.yml)."""

import json
import os
import re
import subprocess
import unittest

from harness import main, source_dir

FAMILIES = ["sluice_build_info", "sluice_config_reloads_total",
            "sluice_config_last_reload_success_timestamp_seconds",
            "sluice_downstream_connections_active", "sluice_downstream_connections_total",
            "sluice_requests_total", "sluice_request_duration_seconds",
            "sluice_upstream_requests_total", "sluice_upstream_request_duration_seconds",
            "sluice_upstream_connect_failures_total", "sluice_upstream_retries_total",
            "sluice_upstream_target_healthy", "sluice_upstream_circuit_state",
            "sluice_ratelimit_decisions_total", "sluice_ratelimit_keys",
            "sluice_cache_requests_total", "sluice_cache_bytes"]


class MonitoringTest(unittest.TestCase):
    def pkg(self, name):
        return os.path.join(source_dir(), "packaging", name)

    def test_dashboard_has_a_panel_per_family(self):
        with open(self.pkg("grafana-dashboard.json")) as f:
            dash = json.load(f)
        exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
        self.assertTrue(all(t.get("refId") for p in dash["panels"] for t in p["targets"]))
        for fam in FAMILIES:
            self.assertTrue(any(re.search(r"\b%s(_bucket)?\b" % fam, e) for e in exprs),
                            "no panel queries %s" % fam)
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)))

    def test_alert_rules_pass_promtool(self):
        for args in (["check", "rules", "prometheus-alerts.yml"],
                     ["test", "rules", "prometheus-alerts.test.yml"]):
            p = subprocess.run(["/usr/bin/promtool"] + args, cwd=self.pkg(""),
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, "promtool %s:\n%s%s" % (" ".join(args), p.stdout,
                                                                     p.stderr))
        with open(self.pkg("prometheus-alerts.yml")) as f:
            text = f.read()
        for alert in ("SluiceUpstreamTargetDown", "SluiceCircuitOpen", "SluiceHigh5xxRatio",
                      "SluiceConfigReloadFailed"):
            self.assertIn("alert: " + alert, text)


if __name__ == "__main__":
    main()
