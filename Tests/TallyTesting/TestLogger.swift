public import Logging

/// A logger for components under test: only critical messages, so test output stays readable.
public let testLogger: Logger = {
    var logger = Logger(label: "tally.test")
    logger.logLevel = .critical
    return logger
}()
