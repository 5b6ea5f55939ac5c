/** A container's options or request refused at `create`/`exec`/`update`: shown to the user as is. */
export class OptionError extends Error {}
