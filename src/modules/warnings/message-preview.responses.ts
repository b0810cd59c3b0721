import { ApiProperty } from '@nestjs/swagger';

/** The preview of a warning's texts per channel (console preview and two-person approval). */

export class SmsPreviewView {
  @ApiProperty({ description: 'the short SMS (one segment where possible)' }) short: string;
  @ApiProperty() long: string;
  @ApiProperty() shortSegments: number;
  @ApiProperty() longSegments: number;
}

export class VoicePreviewView {
  @ApiProperty({ description: 'what the call reads out' }) script: string;
}

export class RobotPreviewView {
  @ApiProperty() title: string;
  @ApiProperty({ type: [String], description: 'one Markdown message per robot post' })
  markdown: string[];
}

export class EmailPreviewView {
  @ApiProperty() subject: string;
  @ApiProperty({ description: 'the plain-text body' }) text: string;
}

export class BroadcastPreviewView {
  @ApiProperty({ description: 'what the loudspeakers read, once' }) text: string;
  @ApiProperty({ description: 'times it is read' }) repeat: number;
}

export class ConsolePreviewView {
  @ApiProperty({ type: SmsPreviewView }) sms: SmsPreviewView;
  @ApiProperty({ type: VoicePreviewView }) voice: VoicePreviewView;
  @ApiProperty({ type: RobotPreviewView }) robot: RobotPreviewView;
  @ApiProperty({ type: EmailPreviewView }) email: EmailPreviewView;
  @ApiProperty({ type: BroadcastPreviewView, description: 'loudspeakers (大喇叭)' })
  broadcast: BroadcastPreviewView;
}
