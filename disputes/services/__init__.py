"""The things the disputes app does. Each public function is the only way its change happens,
runs in a transaction, and writes a DisputeEvent for every status change.

- filing: `dispute_file` (tier 1 runs at once)
- responses: `dispute_respond` (the publisher accepts or contests)
- review: `dispute_decide`, `dispute_escalate`, `dispute_ask_publisher` (the admin queue)
- appeals: `dispute_appeal`
- sla: `disputes_sla_run` (beat)
- money: `dispute_settle` (refunds and the publisher's charge)
- bundles: `bundle_export`, `bundle_verify` (tier 3)
- compromise: `key_compromise_report`
- reports: `disputes_report`
"""
