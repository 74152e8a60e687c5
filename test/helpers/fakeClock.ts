/**
 * Preload (`node --require`) that moves the wall clock to `SOCI_EKS_FAKE_NOW` (an ISO date): `new Date()` and
 * `Date.now()` answer that instant, everything else about Date is unchanged. Used to run the suite's
 * date-dependent tests years ahead and show that none of their results depends on today's date.
 */
const fake = process.env.SOCI_EKS_FAKE_NOW;
if (fake) {
  const RealDate = Date;
  const offset = new RealDate(fake).getTime() - RealDate.now();
  if (Number.isNaN(offset)) throw new Error(`SOCI_EKS_FAKE_NOW '${fake}' is not a date`);
  class FakeDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...(args as [string | number | Date]));
    }
    static now(): number {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = FakeDate as DateConstructor;
}
