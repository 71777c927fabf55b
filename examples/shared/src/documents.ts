/** One document of the knowledge base. */
export interface KnowledgeDocument {
  id: string;
  title: string;
  text: string;
}

/** Name of the fictional product the example knowledge base describes. */
export const PRODUCT = 'Orbit Notes';

/** Id of the knowledge base (`gen_ai.data_source.id` on the vector_search span). */
export const DATA_SOURCE_ID = 'orbit-notes-docs';

/** The knowledge base: short help-centre articles about a fictional note-taking app. */
export const DOCUMENTS: readonly KnowledgeDocument[] = [
  {
    id: 'pricing',
    title: 'Plans and pricing',
    text: 'Orbit Notes Free includes 3 notebooks and 100 MB of storage. Orbit Notes Pro costs $8 per month or $80 per year and adds unlimited notebooks, 50 GB of storage and version history.',
  },
  {
    id: 'sync',
    title: 'Sync across devices',
    text: 'Notes sync in real time between the desktop, web and mobile apps. Sync conflicts keep both versions side by side so that nothing is lost.',
  },
  {
    id: 'offline',
    title: 'Working offline',
    text: 'Every notebook is stored on the device, so Orbit Notes works offline. Changes made offline sync automatically when the device reconnects.',
  },
  {
    id: 'export',
    title: 'Exporting notes',
    text: 'Notes export to Markdown, PDF and HTML from the File menu. A full account export produces a ZIP archive of every notebook with attachments.',
  },
  {
    id: 'security',
    title: 'Security and encryption',
    text: 'Notes are encrypted at rest with AES-256 and in transit with TLS 1.3. Pro users can enable end-to-end encryption for individual notebooks with a separate passphrase.',
  },
  {
    id: 'sharing',
    title: 'Sharing and collaboration',
    text: 'Share a notebook by inviting people by email as viewers or editors. Editors see each other\'s cursors and changes live; viewers can comment.',
  },
  {
    id: 'ai-summary',
    title: 'AI summaries',
    text: 'The Summarise button writes a short summary of a long note and lists its action items. Summaries run on Pro plans and never train models on customer notes.',
  },
  {
    id: 'support',
    title: 'Getting support',
    text: 'Support answers by email within one business day. Pro users also get live chat from 9:00 to 18:00 CET, Monday to Friday.',
  },
  {
    id: 'mobile',
    title: 'Mobile apps',
    text: 'Orbit Notes has apps for iOS 16 and later and Android 11 and later. The mobile apps support handwriting, document scanning and home-screen widgets.',
  },
  {
    id: 'refunds',
    title: 'Refunds and cancellation',
    text: 'Cancel a subscription at any time from Account settings; the plan stays active until the end of the billing period. Annual plans are refunded in full within 14 days of purchase.',
  },
];

/** Questions that the knowledge base answers, for banners and tests. */
export const SAMPLE_QUESTIONS: readonly string[] = [
  'How much does Orbit Notes Pro cost?',
  'Can I use Orbit Notes offline?',
  'How do I export my notes to PDF?',
];
