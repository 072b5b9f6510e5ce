"""Lead and account potential: which leads and accounts to work next, and why."""
