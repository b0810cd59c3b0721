/** Injection tokens of ChannelsModule (classes are injected by class). */

/** The validated ChannelsConfig. */
export const CHANNELS_CONFIG = 'CHANNELS_CONFIG';
/** The twilio SDK client (createTwilioClient), or null when Twilio is not configured. */
export const TWILIO_CLIENT = 'CHANNELS_TWILIO_CLIENT';
/** The vendor classes built from config (ConfiguredChannels). */
export const CONFIGURED_CHANNELS = 'CHANNELS_CONFIGURED';
/** The SMTP channel (kept as its own provider so its pool is closed on shutdown), or null. */
export const SMTP_CHANNEL = 'CHANNELS_SMTP';
