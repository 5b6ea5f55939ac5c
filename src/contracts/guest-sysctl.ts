/** One sysctl for the guest: the key as the spec spelt it, its file under /proc/sys, the value (checked at create by runtime/sysctl.ts, written by the agent). */
export interface GuestSysctl {
  key: string;
  path: string;
  value: string;
}
