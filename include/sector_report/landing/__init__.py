"""Landing a night's input: reading, checking, quarantining and writing the transactions Flink reads."""
