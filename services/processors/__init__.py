"""faust wiring: topics to stages, stages to the producer and the sink. No logic lives here."""
