/** The user dismissed a prompt or a confirmation: a cancel like any other, nothing is shown (made in core/errors). */
export { CancelledByUser } from '../../core/errors/misc';
