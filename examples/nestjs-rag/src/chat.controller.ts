import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { LlmscopeService } from '@llmscope/nestjs';
import { describeEndpoints, type AnswerSource } from '../../shared/src';
import { RagService } from './rag.service';

/** `GET /` lists the endpoints; `POST /chat` answers a question. */
@Controller()
export class ChatController {
  // Explicit tokens: `npm start` runs through tsx (esbuild), which emits no decorator metadata.
  constructor(@Inject(RagService) private readonly rag: RagService, @Inject(LlmscopeService) private readonly llmscope: LlmscopeService) {}

  @Get()
  index(@Req() req: { headers: { host?: string } }): ReturnType<typeof describeEndpoints> {
    return describeEndpoints('NestJS', `http://${req.headers.host ?? 'localhost'}`);
  }

  @Post('chat')
  @HttpCode(200)
  async chat(@Body() body: { question?: unknown } | undefined): Promise<{ answer: string; sources: AnswerSource[]; traceId: string | undefined }> {
    const question = body?.question;
    if (typeof question !== 'string' || question.trim() === '' || question.length > 2000) {
      throw new BadRequestException('send {"question": "..."} (a non-empty string of at most 2000 characters)');
    }
    this.llmscope.setFeature('chat');
    const { answer, sources } = await this.rag.answer(question);
    return { answer, sources, traceId: this.llmscope.getContext()?.traceId };
  }
}
