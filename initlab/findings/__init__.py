"""What each notebook found: its tables and generated verdicts, one module per notebook."""
