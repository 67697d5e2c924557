"""The local closed-loop demo: every stage that exists, run for real on embedded defaults."""
