/** The user dismissed a prompt or a confirmation: a cancel like any other, nothing is shown. */
import { CancelledError } from '../../core/operations/cancel';

export class CancelledByUser extends CancelledError {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledByUser';
  }
}
