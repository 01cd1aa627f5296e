"""The roles' consumers and handlers: topics to stages, stages to the producer and the sink (aiokafka batches,
explicit commits). No decision logic lives here: the stages (services/stages) and the monitor (services/monitor)
decide, the sink (services/sink) writes."""
